import { randomUUID } from 'node:crypto';
import fastifyJwt from '@fastify/jwt';
import type { FastifyInstance } from 'fastify';
import { entityId } from '../../shared/schemas.js';
import { unauthorized } from '../errors.js';

export interface TokenClaims {
  sub: string;
  exp: number;
  /** The user's session version when it was signed: a token of an earlier one was ended. Tokens from before versions have none (0). */
  ver: number;
}

export interface Tokens {
  /** A fresh HS256 access token for the user, of their session version, valid for the configured lifetime. */
  sign(userId: string, sessionVersion: number): string;
  /** The claims of a valid token; UNAUTHORIZED for a missing, tampered, expired or unsigned one. */
  verify(token: unknown): TokenClaims;
}

/** Registers @fastify/jwt for HS256 only (the verifier refuses any other algorithm, `none` included). */
export async function registerTokens(app: FastifyInstance, secret: string, ttlSeconds: number): Promise<Tokens> {
  await app.register(fastifyJwt, {
    secret,
    sign: { algorithm: 'HS256', expiresIn: ttlSeconds }, // seconds
    verify: { algorithms: ['HS256'], requiredClaims: ['sub', 'exp'] },
  });
  return {
    // An id of its own (`jti`): two tokens signed in the same second would otherwise be one string,
    // and a refresh right after signing in would answer the token it was given.
    sign: (userId, sessionVersion) => app.jwt.sign({ sub: userId, ver: sessionVersion, jti: randomUUID() }),
    verify(token) {
      if (typeof token !== 'string' || token.length === 0 || token.length > 4096) throw unauthorized();
      let claims: Partial<TokenClaims>;
      try {
        claims = app.jwt.verify<Partial<TokenClaims>>(token);
      } catch (error) {
        throw unauthorized(unreadTokenMessage(token, error));
      }
      // A well-signed token names a user by id; any other subject is refused here, before it reaches a query.
      if (!entityId.safeParse(claims.sub).success || typeof claims.exp !== 'number') throw unauthorized('invalid token');
      const ver = claims.ver ?? 0;
      if (!Number.isSafeInteger(ver) || ver < 0) throw unauthorized('invalid token');
      return { sub: claims.sub!, exp: claims.exp, ver };
    },
  };
}

/** Why a token was not taken, in words its holder can act on: it tells nothing the token does not. */
function unreadTokenMessage(token: string, error: unknown): string {
  if ((error as { code?: unknown }).code === 'FAST_JWT_EXPIRED') return 'the token has expired: sign in again';
  if (/^bearer\s/i.test(token)) return 'invalid token: send the token alone, without "Bearer "';
  return 'invalid token';
}
