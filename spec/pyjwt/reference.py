#!/usr/bin/python3
"""
The other side of spec/pyjwt.spec.ts, run with Debian's python3-jwt (PyJWT 2.6):
mints tokens with PyJWT and decides them the way Flask-JWT-Extended 4.7 does.

Reads one JSON request on stdin, writes one JSON answer on stdout:
  {"mint": [...]}   -> {"tokens": [...]}     PyJWT-made tokens
  {"decide": [...]} -> {"decisions": [...]}  {"status", "msg"} or {"status": 200, "identity"}

The decision follows flask_jwt_extended 4.7.4 (jwt_manager._decode_jwt_from_config,
tokens._decode_jwt, view_decorators._decode_jwt_from_request) step by step. PyJWT 2.6
checks the form, header, signature, iat, nbf and exp; the claim checks PyJWT 2.10+ made
stricter or added (iss type, aud, sub, jti, the kid check before the payload), which
Flask-JWT-Extended 4.7 runs on, are copied below from PyJWT 2.15 in its order.
"""
import base64
import hmac
import json
import sys

import jwt
from jwt.algorithms import get_default_algorithms
from jwt.exceptions import (
    DecodeError,
    ExpiredSignatureError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidTokenError,
    MissingRequiredClaimError,
)


class CSRFError(Exception):
    """flask_jwt_extended.exceptions.CSRFError: answered 401."""


class WrongTokenError(Exception):
    """flask_jwt_extended.exceptions.WrongTokenError: answered 422."""


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(request):
    """jwt.encode for a well-formed token; byte by byte (PyJWT's own signers) for raw or odd parts."""
    alg, key = request["alg"], request["key"]
    header, payload = request.get("header") or {}, request.get("payload")
    if request.get("header_hex") is None and request.get("payload_hex") is None and not request.get("manual"):
        try:
            return jwt.encode(payload, key, algorithm=alg, headers=header or None)
        except (TypeError, InvalidTokenError):
            pass  # PyJWT 2.10+ refuses to encode some odd claims (a non-string iss): built by hand below
    header_bytes = (
        bytes.fromhex(request["header_hex"]) if request.get("header_hex") is not None
        else json.dumps({"alg": alg, "typ": "JWT", **header}, separators=(",", ":")).encode()
    )
    payload_bytes = (
        bytes.fromhex(request["payload_hex"]) if request.get("payload_hex") is not None
        else json.dumps(payload, separators=(",", ":")).encode()
    )
    signing_input = b64(header_bytes) + "." + b64(payload_bytes)
    algorithm = get_default_algorithms()[alg]
    return signing_input + "." + b64(algorithm.sign(signing_input.encode(), algorithm.prepare_key(key)))


# PyJWT 2.15's _validate_iss, _validate_aud (not strict), _validate_sub, _validate_jti.
def validate_iss(payload, issuer):
    if issuer is None:
        return
    if "iss" not in payload:
        raise MissingRequiredClaimError("iss")
    if not isinstance(payload["iss"], str):
        raise InvalidIssuerError("Payload Issuer (iss) must be a string")
    if payload["iss"] != issuer:
        raise InvalidIssuerError("Invalid issuer")


def validate_aud(payload, audience):
    if audience is None:
        if "aud" not in payload or not payload["aud"]:
            return
        raise InvalidAudienceError("Invalid audience")
    if "aud" not in payload or not payload["aud"]:
        raise MissingRequiredClaimError("aud")
    claims = payload["aud"]
    if isinstance(claims, str):
        claims = [claims]
    if not isinstance(claims, list) or any(not isinstance(c, str) for c in claims):
        raise InvalidAudienceError("Invalid claim format in token")
    if isinstance(audience, str):
        audience = [audience]
    if all(aud not in claims for aud in audience):
        raise InvalidAudienceError("Audience doesn't match")


def validate_sub(payload):
    if "sub" in payload and not isinstance(payload["sub"], str):
        raise InvalidTokenError("Subject must be a string")


def validate_jti(payload):
    if "jti" in payload and not isinstance(payload["jti"], str):
        raise InvalidTokenError("JWT ID must be a string")


def decode_jwt(request, allow_expired):
    """flask_jwt_extended.tokens._decode_jwt."""
    options = {"verify_aud": False, "verify_iss": False}
    if allow_expired:
        options["verify_exp"] = False
    claims = jwt.decode(request["token"], request["key"], algorithms=request["algorithms"],
                        leeway=request.get("leeway", 0), options=options)
    validate_iss(claims, request.get("issuer"))
    if request.get("audience") is not None:  # verify_aud = decode_audience is not None
        validate_aud(claims, request["audience"])
    validate_sub(claims)  # JWT_VERIFY_SUB defaults to True
    validate_jti(claims)
    identity_claim = request.get("identity_claim", "sub")
    if identity_claim not in claims:
        raise DecodeError("Missing claim: {}".format(identity_claim))
    claims.setdefault("type", "access")
    csrf = request.get("csrf")
    if csrf:
        if "csrf" not in claims:
            raise DecodeError("Missing claim: csrf")
        if not hmac.compare_digest(claims["csrf"], csrf):
            raise CSRFError("CSRF double submit tokens do not match")
    return claims


def decide(request):
    """What a @jwt_required(refresh=...) route answers for the token."""
    try:
        token = request["token"]
        jwt.get_unverified_header(token)  # PyJWT 2.15 checks the kid right after loading the header
        jwt.decode(token, algorithms=request["algorithms"], options={"verify_signature": False})
        try:
            claims = decode_jwt(request, allow_expired=False)
        except ExpiredSignatureError:
            decode_jwt(request, allow_expired=True)  # its errors win over the expiry
            raise
        refresh = request.get("refresh", False)
        if not refresh and claims["type"] == "refresh":
            raise WrongTokenError("Only non-refresh tokens are allowed")
        if refresh and claims["type"] != "refresh":
            raise WrongTokenError("Only refresh tokens are allowed")
        return {"status": 200, "identity": claims[request.get("identity_claim", "sub")]}
    except ExpiredSignatureError:
        return {"status": 401, "msg": "Token has expired"}
    except CSRFError as e:
        return {"status": 401, "msg": str(e)}
    except (InvalidTokenError, WrongTokenError) as e:
        # "Invalid payload string: <Python's reason>" and the like: the reason is Python's, not the contract's.
        return {"status": 422, "msg": str(e).split(": ")[0] if str(e).startswith("Invalid ") and ": " in str(e) else str(e)}
    except Exception:  # noqa: BLE001 - what Flask answers for any other exception a view raises
        return {"status": 500}


def main():
    request = json.load(sys.stdin)
    if "mint" in request:
        json.dump({"tokens": [mint(m) for m in request["mint"]]}, sys.stdout)
    else:
        json.dump({"decisions": [decide(d) for d in request["decide"]]}, sys.stdout)


if __name__ == "__main__":
    main()
