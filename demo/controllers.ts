import { Body, Get, HttpCode, JsonController, Post, UnauthorizedError } from 'routing-controllers';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { Service } from 'typedi';
import {
  CurrentIdentity, FreshJwtRequired, JwtManager, JwtOptional, JwtRefreshTokenRequired, JwtRequired, TokenFactory,
} from '../src';
import { UserStore } from './users';

export class LoginDto {
  @IsString() @MinLength(1) @MaxLength(200) username!: string;
  @IsString() @MinLength(1) @MaxLength(200) password!: string;
}

export class ChangePasswordDto {
  @IsString() @MinLength(8) @MaxLength(200) newPassword!: string;
}

@Service()
@JsonController()
export class AuthController {
  // Both come from the DI container: the demo registers them with typedi.
  constructor(private readonly tokens: TokenFactory, private readonly users: UserStore) {}

  /** Password login: a fresh access token and a refresh token. */
  @Post('/login')
  async login(@Body() body: LoginDto) {
    await this.checkPassword(body);
    return {
      access_token: await this.tokens.createAccessToken(body.username, { fresh: true }),
      refresh_token: await this.tokens.createRefreshToken(body.username),
    };
  }

  /** A new, non-fresh access token for the holder of a refresh token. */
  @Post('/refresh')
  @JwtRefreshTokenRequired()
  async refresh(@CurrentIdentity() identity: string) {
    return { access_token: await this.tokens.createAccessToken(identity) };
  }

  /** Password again, for a fresh access token only (no refresh token). */
  @Post('/fresh-login')
  async freshLogin(@Body() body: LoginDto) {
    await this.checkPassword(body);
    return { access_token: await this.tokens.createAccessToken(body.username, { fresh: true }) };
  }

  private async checkPassword(body: LoginDto): Promise<void> {
    if (!(await this.users.verify(body.username, body.password))) throw new UnauthorizedError('Bad username or password');
  }
}

@Service()
@JsonController()
export class AccountController {
  constructor(private readonly users: UserStore) {}

  @Get('/protected')
  @JwtRequired()
  protected(@CurrentIdentity() identity: string) {
    return { logged_in_as: identity };
  }

  /** Sensitive: only with a fresh token, i.e. soon after typing the password. */
  @Post('/change-password')
  @FreshJwtRequired()
  @HttpCode(200)
  async changePassword(@CurrentIdentity() identity: string, @Body() body: ChangePasswordDto) {
    await this.users.add(identity, body.newPassword);
    return { msg: 'Password changed' };
  }

  /** Anyone; a logged-in user gets a personal answer. */
  @Get('/optional')
  @JwtOptional()
  optional(@CurrentIdentity() identity: string | undefined) {
    return identity === undefined ? { msg: 'Hello, anonymous' } : { msg: `Hello, ${identity}`, logged_in_as: identity };
  }
}

@Service()
@JsonController()
export class KeysController {
  constructor(private readonly jwt: JwtManager) {}

  /** The public keys tokens are signed with, for other services that verify them. */
  @Get('/.well-known/jwks.json')
  jwks() {
    return this.jwt.jwks();
  }
}
