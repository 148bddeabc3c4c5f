import { validate, type ValidatorOptions } from 'class-validator';
import { BadRequestError, Body, getMetadataArgsStorage, type Action } from 'routing-controllers';
import { JsonHttpError } from '../src';

/** class-validator's options for the demo's bodies: an error never echoes the body (it may hold a password). */
export const VALIDATION: ValidatorOptions = { forbidUnknownValues: false, validationError: { target: false, value: false } };

/**
 * `@Body()` for a DTO class, refusing what `@Body()` lets through:
 *
 * - a body that is not `application/json` (415): Koa's body parser reads
 *   url-encoded forms too, and a form is what a cross-site page can post without
 *   a CORS preflight (login CSRF); JSON it cannot;
 * - a JSON value that is not an object (400): routing-controllers hands an array
 *   to the action as it came, neither transformed nor validated.
 *
 * Then class-validator, with {@link VALIDATION}, as `@Body()` would. This
 * decorator validates rather than routing-controllers, whose validation runs
 * first and would answer a form body 400 on Express (which leaves it unparsed) but not on Koa.
 */
export function JsonBody(): ParameterDecorator {
  return (object, method, index) => {
    const dto = (Reflect.getMetadata('design:paramtypes', object, method as string) as Function[])[index];
    Body({ validate: false })(object, method as string, index);
    const params = getMetadataArgsStorage().params;
    // The entry Body() has just added: routing-controllers calls its `transform` with the value it made of the body.
    params[params.length - 1].transform = (action: Action, value: unknown) => checkedBody(action, value, dto);
  };
}

/** `value` if the request was JSON and class-transformer made a valid `dto` of it; else the error response. */
async function checkedBody(action: Action, value: unknown, dto: Function): Promise<unknown> {
  const request = action.request as { headers: Record<string, string | string[] | undefined> };
  const type = request.headers['content-type'];
  if (typeof type !== 'string' || type.split(';')[0].trim().toLowerCase() !== 'application/json') {
    throw new JsonHttpError(415, { msg: 'Content-Type must be application/json' });
  }
  // Only an object becomes an instance: an array, a string, a number, null never do.
  if (!(value instanceof dto)) throw new JsonHttpError(400, { msg: 'The body must be a JSON object' });
  const errors = await validate(value, VALIDATION);
  if (errors.length > 0) throw Object.assign(new BadRequestError("Invalid body, check 'errors' property for more info."), { errors });
  return value;
}
