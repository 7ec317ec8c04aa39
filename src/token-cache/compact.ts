// A store value kept compact in memory: deflated when that pays, as one one-byte string.
//
// With the memory cache, every signed-in user's partition and session record stay in the process
// (issue 18: 10,000 sessions in 200 MiB). A value that deflates by at least an eighth is kept
// deflated (an MSAL partition, JSON around base64url tokens, to about half), and every value is one
// one-byte string (latin1: byte for byte) rather than a Buffer, which would cost an ArrayBuffer, a
// view and a malloc'd backing store of its own besides its bytes.
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';

const RAW = 0;
const DEFLATED = 1;
/** Shorter values are kept as they are: deflate's own framing eats what it would save. */
const DEFLATE_FROM = 128;
/**
 * A preset dictionary: the text this store mostly holds (an MSAL partition's and a session record's
 * keys, JWT headers). It only biases the compression: any value round-trips, and nothing outlives
 * the process, so it may change freely between versions. About 320 B less per session.
 */
const DICTIONARY = Buffer.from(
  [
    JSON.stringify({
      homeAccountId: '',
      claims: {
        sub: '',
        iss: 'https://',
        oid: '',
        tid: '',
        name: '',
        preferred_username: '',
        upn: '',
        email: '',
      },
    }),
    JSON.stringify({
      Account: {
        '': {
          home_account_id: '',
          environment: '',
          realm: '',
          local_account_id: '',
          username: '',
          authority_type: 'Generic',
          name: '',
          tenantProfiles: [
            JSON.stringify({ tenantId: '', localAccountId: '', name: '', username: '', isHomeTenant: false }),
          ],
        },
      },
      RefreshToken: {
        '': {
          home_account_id: '',
          environment: '',
          credential_type: 'RefreshToken',
          client_id: '',
          secret: '',
        },
      },
      AppMetadata: {},
      IdToken: {
        '': {
          home_account_id: '',
          environment: '',
          credential_type: 'IdToken',
          client_id: '',
          secret: '',
          realm: '',
        },
      },
      AccessToken: {
        '': {
          home_account_id: '',
          environment: '',
          credential_type: 'AccessToken',
          client_id: '',
          secret: '',
          realm: '',
          target: 'openid profile offline_access',
          cached_at: '',
          expires_on: '',
          extended_expires_on: '',
          token_type: 'Bearer',
        },
      },
    }),
    // JWT headers as base64url: {"typ":"JWT","alg":"RS256","kid":, {"alg":"RS256","typ":"JWT","kid":, ...at+jwt
    'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsImtpZCI6I eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6I',
    '"idToken":"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6I',
  ].join(' '),
);
// A 4 KiB window covers a partition's repeats (account ids, key names) at a fraction of the default
// 32 KiB window's set-up cost per call; level 6 is zlib's default trade-off.
const ZLIB = {
  windowBits: 12,
  memLevel: 5,
  level: 6,
  strategy: constants.Z_DEFAULT_STRATEGY,
  dictionary: DICTIONARY,
};

/** The value as kept: its first char says how (RAW, DEFLATED), the rest are its bytes as latin1. */
export function pack(value: Buffer): string {
  let body = value;
  let how = RAW;
  if (value.length >= DEFLATE_FROM) {
    const deflated = deflateRawSync(value, ZLIB);
    if (deflated.length <= value.length - (value.length >> 3)) {
      body = deflated;
      how = DEFLATED;
    }
  }
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = how;
  body.copy(out, 1);
  return out.toString('latin1');
}

export function unpack(kept: string): Buffer {
  const bytes = Buffer.from(kept, 'latin1');
  const body = bytes.subarray(1);
  return bytes[0] === DEFLATED
    ? inflateRawSync(body, { windowBits: ZLIB.windowBits, dictionary: DICTIONARY })
    : Buffer.from(body);
}
