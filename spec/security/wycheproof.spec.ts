import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { JwtError, JwtManager, type Algorithm, type JwtConfig } from '../../src';
import { requireService } from '../services';

/**
 * Project Wycheproof's JWS vectors (../shared/testdata/wycheproof), replayed through
 * the library's own verification with the algorithm pinned to each group's key.
 */
const FILE = join(__dirname, '..', '..', '..', '..', 'shared', 'testdata', 'wycheproof', 'json_web_signature_test.json');

interface Vector { tcId: number; comment: string; jws: unknown; result: 'valid' | 'invalid'; flags: string[] }
interface Group { comment?: string; private?: Record<string, unknown>; public?: Record<string, unknown>; tests: Vector[] }

/**
 * Why a "valid" vector may still be refused: it is not an acceptable JWT. The
 * payload is read only after its signature holds, so a refusal for the payload
 * also proves the signature verified. Each reason names the library's rule.
 */
const ACCEPTABLE_REFUSALS: Record<string, string> = {
  'Invalid payload string': 'the payload is not a JWT claim set (a JSON object)',
  'Token is missing the "exp" claim': 'a JWT without exp is refused unless the app issues such tokens',
  'Missing claim: sub': 'a JWT without an identity is refused',
  'Non-canonical signature (high S)': 'the high-s twin of an ECDSA signature is refused by policy (allowHighS)',
  'The specified alg value is not allowed': "the token's alg differs from the algorithm pinned to the group's key",
  'Invalid token encoding': 'strict compact form: a character outside base64url, which lenient decoders skip',
};

/** The group's key, pinned to one algorithm; 'ES521' (a label of the RFC 7520 examples) is ES512. */
function pinnedConfig(group: Group): JwtConfig {
  const jwk = { ...(group.public ?? group.private)! };
  if (jwk.alg === 'ES521') jwk.alg = 'ES512';
  const alg = (jwk.alg as Algorithm | undefined) ?? (jwk.kty === 'EC' ? 'ES256' : jwk.kty === 'oct' ? 'HS256' : 'RS256');
  return alg.startsWith('HS')
    ? { algorithm: alg, secretKey: jwk, allowWeakSecret: true }
    : { algorithm: alg, publicKey: jwk };
}

describe('Wycheproof JWS vectors', function () {
  this.timeout(60_000);
  const tally = { replayed: 0, invalidRejected: 0, validAccepted: 0, validRefusedWithReason: 0, rejectedAtKeyImport: 0 };

  before(function () {
    requireService(this, existsSync(FILE), `the Wycheproof vectors are not at ${FILE}`);
  });
  after(() => {
    if (tally.replayed > 0) console.log(`      Wycheproof: ${JSON.stringify(tally)}`);
  });

  it('rejects every invalid vector; accepts valid ones or refuses them for a stated JWT rule, never for their signature', async () => {
    const file = JSON.parse(readFileSync(FILE, 'utf8')) as { numberOfTests: number; testGroups: Group[] };
    const refusals: string[] = [];
    for (const group of file.testGroups) {
      let jwt: JwtManager | undefined;
      let importError: Error | undefined;
      try {
        jwt = new JwtManager(pinnedConfig(group));
      } catch (error) {
        importError = error as Error;
      }
      for (const vector of group.tests) {
        tally.replayed++;
        const where = `tc ${vector.tcId} (${vector.comment}, ${vector.result})`;
        if (!jwt) {
          // A key that may not verify signatures (use "enc", key_ops without "verify") is refused at import.
          expect(vector.result, `${where}: key refused: ${importError?.message}`).to.equal('invalid');
          tally.rejectedAtKeyImport++;
          continue;
        }
        const token = typeof vector.jws === 'string' ? vector.jws : JSON.stringify(vector.jws);
        let refusal: unknown;
        await jwt.tokens.decodeToken(token).catch((error: unknown) => { refusal = error; });
        if (refusal !== undefined) {
          expect(refusal, `${where}: refused with a JwtError`).to.be.instanceOf(JwtError);
          expect((refusal as JwtError).status, where).to.be.within(400, 499);
        }
        if (vector.result === 'invalid') {
          expect(refusal, `${where} must be rejected`).not.to.equal(undefined);
          tally.invalidRejected++;
        } else if (refusal === undefined) {
          tally.validAccepted++;
        } else {
          const message = (refusal as JwtError).message;
          expect(ACCEPTABLE_REFUSALS, `${where} refused for "${message}"`).to.have.property(message);
          refusals.push(`tc ${vector.tcId}: ${ACCEPTABLE_REFUSALS[message]}`);
          tally.validRefusedWithReason++;
        }
      }
    }
    expect(tally.replayed).to.equal(file.numberOfTests);
    expect(tally.invalidRejected + tally.rejectedAtKeyImport + tally.validAccepted + tally.validRefusedWithReason).to.equal(tally.replayed);
    // Say per vector why a valid one was refused, rather than skipping it silently.
    if (process.env.WYCHEPROOF_VERBOSE) console.log(refusals.join('\n'));
  });
});
