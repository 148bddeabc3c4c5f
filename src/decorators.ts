import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validate, type ValidationError } from 'class-validator';
import { createParamDecorator, getMetadataArgsStorage, type Action } from 'routing-controllers';
import { ClaimsValidationError, JwtRequirementMissingError } from './errors';
import { rejectRequest } from './manager';
import { actionKey, bindAction, type BoundRequest } from './request/adapter';
import { requestState, wasVerified } from './request/state';
import { JwtRequirement, type JwtRequiredOptions } from './requirement';

/** A decorator that fits both a controller class and an action method. */
export type ClassOrMethodDecorator = (target: object, method?: string | symbol) => void;

/**
 * Requires a valid access token on an action, or on every action of a controller.
 * A method's decorator overrides its class's. Built on routing-controllers'
 * `@Authorized`, so the app must pass `jwt.authorizationChecker` to it.
 */
export function JwtRequired(options: JwtRequiredOptions = {}): ClassOrMethodDecorator {
  const requirement = new JwtRequirement(options, '@JwtRequired()');
  return (target, method) => addRequirement(target, method, requirement.options);
}

/**
 * Options of `@JwtRefreshTokenRequired()`: those of `@JwtRequired()` that a
 * refresh route can take (refresh tokens are never fresh, always of their type,
 * and a required token is not optional).
 */
export type JwtRefreshTokenRequiredOptions = Omit<JwtRequiredOptions, 'refresh' | 'fresh' | 'verifyType' | 'optional'>;

/** Options of `@FreshJwtRequired()`: those of `@JwtRequired()` that a fresh-token route can take. */
export type FreshJwtRequiredOptions = Omit<JwtRequiredOptions, 'fresh' | 'refresh' | 'verifyType' | 'optional'>;

/**
 * Options of `@JwtOptional()`: those of `@JwtRequired()` but `roles`, since a
 * route that names roles always needs a token.
 */
export type JwtOptionalOptions = Omit<JwtRequiredOptions, 'optional' | 'roles'>;

/**
 * Requires a valid refresh token: `JwtRequired({ refresh: true, ...options })`,
 * e.g. `@JwtRefreshTokenRequired({ locations: ['cookies'] })`.
 */
export function JwtRefreshTokenRequired(options: JwtRefreshTokenRequiredOptions = {}): ClassOrMethodDecorator {
  return shortcut('JwtRefreshTokenRequired', options, { refresh: true }, ['refresh', 'fresh', 'verifyType', 'optional']);
}

/** Requires a fresh access token: `JwtRequired({ fresh: true, ...options })`. */
export function FreshJwtRequired(options: FreshJwtRequiredOptions = {}): ClassOrMethodDecorator {
  return shortcut('FreshJwtRequired', options, { fresh: true }, ['fresh', 'refresh', 'verifyType', 'optional']);
}

/**
 * Lets anonymous requests through: `JwtRequired({ optional: true, ...options })`.
 * A token that is present must still be valid.
 */
export function JwtOptional(options: JwtOptionalOptions = {}): ClassOrMethodDecorator {
  return shortcut('JwtOptional', options, { optional: true }, ['optional', 'roles']);
}

/**
 * `@JwtRequired()` with the shortcut's own options fixed. The types keep out
 * what would contradict them; this check catches the same in plain JavaScript.
 */
function shortcut(name: string, options: JwtRequiredOptions, fixed: JwtRequiredOptions, refused: readonly (keyof JwtRequiredOptions)[]): ClassOrMethodDecorator {
  const contradicting = refused.find((option) => options[option] !== undefined);
  if (contradicting !== undefined) {
    throw new TypeError(`@${name}() does not take \`${contradicting}\`, which contradicts what it requires; use @JwtRequired({ ... }) to combine options freely`);
  }
  return JwtRequired({ ...options, ...fixed });
}

/** Injects the verified token's identity (`undefined` on an optional route without a token). */
export function CurrentIdentity(): ParameterDecorator {
  return paramFromState('CurrentIdentity', (action) => requestState(actionKey(action))?.identity);
}

/**
 * Injects the verified token's claims (`undefined` on an optional route without a token).
 * On a parameter typed with a class carrying class-validator decorators, the
 * claims arrive as a validated instance of it; claims that do not fit answer 422.
 */
export function CurrentJwt(): ParameterDecorator {
  return (target, method, index) => {
    const types: unknown[] | undefined = Reflect.getMetadata('design:paramtypes', target, method as string);
    const type = types?.[index];
    const read = isClaimsClass(type)
      ? (action: Action) => validatedClaims(bindAction(action), type)
      : (action: Action) => requestState(actionKey(action))?.claims;
    paramFromState('CurrentJwt', read)(target, method, index);
  };
}

/** A parameter read from the request's verified token; a request that nothing verified is a mistake of the app's. */
function paramFromState(name: string, read: (action: Action) => unknown): ParameterDecorator {
  return (target, method, index) => {
    const where = `@${name}() on ${(target as { constructor: Function }).constructor.name}.${String(method)}`;
    const decorator = createParamDecorator({
      value: (action: Action) => {
        if (!wasVerified(actionKey(action))) throw new JwtRequirementMissingError(where);
        return read(action);
      },
    });
    decorator(target, method as string, index);
  };
}

const UNTYPED: readonly unknown[] = [Object, Array, String, Number, Boolean, Promise];

function isClaimsClass(type: unknown): type is new () => object {
  return typeof type === 'function' && !UNTYPED.includes(type);
}

async function validatedClaims(request: BoundRequest, type: new () => object): Promise<object | undefined> {
  const claims = requestState(request.ctx)?.claims;
  if (claims === undefined) return undefined;
  const instance = plainToInstance(type, claims);
  const errors = await validate(instance);
  if (errors.length > 0) {
    const error = new ClaimsValidationError(`Invalid claims: ${constraintMessages(errors).join('; ')}`);
    error.claims = claims;
    throw await rejectRequest(request, error);
  }
  return instance;
}

function constraintMessages(errors: ValidationError[]): string[] {
  return errors.flatMap((error) => [...Object.values(error.constraints ?? {}), ...constraintMessages(error.children ?? [])]);
}

const REQUIREMENTS = Symbol('jwt-extended requirements');

type ResponseHandlerMetadataArgs = ReturnType<typeof getMetadataArgsStorage>['responseHandlers'][number];

interface CollectingEntry extends ResponseHandlerMetadataArgs {
  [REQUIREMENTS]: JwtRequiredOptions[];
}

/**
 * routing-controllers reads only the first `authorized` entry of a method (or
 * class), so `@JwtRequired()` stacked with `@Authorized('admin')` would silently
 * lose one of them. Our entry goes first and its value collects every entry of
 * the same target when routing-controllers reads it: stacking just works, in
 * any order. Several of our decorators on one target merge, the upper one winning.
 */
function addRequirement(target: object, method: string | symbol | undefined, options: JwtRequiredOptions): void {
  const cls = (method === undefined ? target : target.constructor) as Function;
  const methodName = method as string | undefined;
  const storage = getMetadataArgsStorage();
  const isSameTarget = (entry: ResponseHandlerMetadataArgs) =>
    entry.type === 'authorized' && entry.target === cls && entry.method === methodName;

  const first = storage.responseHandlers.find(isSameTarget);
  if (first && REQUIREMENTS in first) {
    (first as CollectingEntry)[REQUIREMENTS].push(options);
    return;
  }
  const requirements = [options];
  const entry: CollectingEntry = {
    type: 'authorized',
    target: cls,
    method: methodName as string,
    [REQUIREMENTS]: requirements,
    get value(): unknown[] {
      const others = getMetadataArgsStorage().responseHandlers.filter((other) => other !== entry && isSameTarget(other));
      const where = `the decorators on ${cls.name}${methodName === undefined ? '' : `.${methodName}`}`;
      return [new JwtRequirement(Object.assign({}, ...requirements), where), ...others.flatMap((other) => other.value ?? [])];
    },
  };
  const index = first ? storage.responseHandlers.indexOf(first) : storage.responseHandlers.length;
  storage.responseHandlers.splice(index, 0, entry);
}
