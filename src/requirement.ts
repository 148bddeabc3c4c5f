import type { TokenLocation } from './config';

/** What a route demands of a request's token; the options of `@JwtRequired()`. */
export interface JwtRequiredOptions {
  /** A request without a token gets through anonymously; a token that is present must still be valid. */
  optional?: boolean;
  /** Only fresh access tokens. */
  fresh?: boolean;
  /** Only refresh tokens (instead of only access tokens). */
  refresh?: boolean;
  /** Where to look for the token, overriding the configured `tokenLocation`. */
  locations?: TokenLocation[];
  /** Check the token's `type` claim. Default `true`. */
  verifyType?: boolean;
  /** Do not ask the revocation store about this route's tokens (a rotating refresh token is still used up). */
  skipRevocationCheck?: boolean;
  /**
   * Roles the token must hold, all of them (read from the `rolesClaim`).
   * A route that names roles always needs a token, even when `optional`.
   */
  roles?: string[];
}

/**
 * A route's requirement, as it travels through routing-controllers' `@Authorized`
 * metadata to `jwt.authorizationChecker`.
 */
export class JwtRequirement {
  /** Refuses options that contradict each other; `where` names them in the message. */
  constructor(readonly options: Readonly<JwtRequiredOptions>, where = 'JwtRequired options') {
    if (options.refresh && options.fresh) {
      throw new TypeError(`${where}: \`refresh\` and \`fresh\` contradict each other (refresh tokens are never fresh), so no token could pass`);
    }
  }

  /**
   * The requirement of one route from everything `@Authorized` collected for it:
   * class-level entries first, then the method's. The last `JwtRequirement`
   * wins (a method's decorator overrides its class's); role names given to plain
   * `@Authorized('admin')` add up, and all of them are required.
   */
  static fromAuthorizedRoles(entries: readonly unknown[]): ResolvedRequirement {
    // routing-controllers hands each action the same array on every request.
    let resolved = resolvedRequirements.get(entries);
    if (!resolved) {
      resolved = resolve(entries);
      resolvedRequirements.set(entries, resolved);
    }
    return resolved;
  }
}

/** A route's options and every role it requires. */
export interface ResolvedRequirement {
  readonly options: Readonly<JwtRequiredOptions>;
  readonly roles: readonly string[];
}

const resolvedRequirements = new WeakMap<readonly unknown[], ResolvedRequirement>();

function resolve(entries: readonly unknown[]): ResolvedRequirement {
  let options: Readonly<JwtRequiredOptions> = {};
  const roles: string[] = [];
  for (const entry of entries) {
    if (entry instanceof JwtRequirement) options = entry.options;
    else if (typeof entry === 'string') roles.push(entry);
    else throw new TypeError(`@Authorized() takes role names with routing-controllers-jwt-extended; got ${typeof entry}`);
  }
  return { options, roles: [...roles, ...(options.roles ?? [])] };
}
