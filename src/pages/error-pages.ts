// What each error page says: the catalogue error (src/errors.ts) in plain words, and the next step.
//
// The catalogue's message is written for API callers and logs; a person gets a heading that says what
// happened, a sentence on why or what it means for them, and links to go on (sign in again, back to the
// app, try again in N seconds). Hints (e.g. the sign-in loop's likely cause) follow as paragraphs.
import type { FastifyError, FastifyRequest } from 'fastify';
import {
  CrossSiteSignOutError,
  ForbiddenError,
  InteractionRequiredError,
  NotFoundError,
  ProviderConfigError,
  ProviderUnavailableError,
  ShuttingDownError,
  SignInFailedError,
  SignInLoopError,
  SignInRefusedError,
  TokenStoreUnavailableError,
  UnauthenticatedError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
  WrongHostError,
} from '../errors.js';
import type { Action, Page, Pages } from './render.js';

/** Seconds a 503 asks the client to wait (Retry-After, and the page's "try again in N seconds"). */
export const RETRY_AFTER_SECONDS = 5;

export interface ErrorContext {
  pages: Pages;
  request: FastifyRequest;
  status: number;
  message: string;
  /** JSON extras of the answer: a loginUrl becomes the page's sign-in link. */
  extra: Record<string, unknown>;
  hints: readonly string[];
}

type Words = (c: ErrorContext) => { title: string; paragraphs: string[]; actions: Action[] };

/** Where a GET can be retried (the same URL), else the app's start page. */
const here = (c: ErrorContext) => (c.request.method === 'GET' ? c.request.url : '/');
const back = (c: ErrorContext): Action => ({ label: `Back to ${c.pages.appName}`, href: '/' });
const signIn = (c: ErrorContext, label = 'Sign in'): Action => ({
  label,
  href: typeof c.extra.loginUrl === 'string' ? c.extra.loginUrl : c.pages.signInUrl(here(c)),
});
/** After a failed sign-in: start afresh (the callback URL is no place to come back to). */
const startAgain = (c: ErrorContext, label = 'Sign in again'): Action => ({
  label,
  href: c.pages.signInUrl('/'),
});
const retry = (c: ErrorContext): Action => ({ label: 'Try again', href: here(c) });

const unavailable =
  (what: string): Words =>
  (c) => ({
    title: 'Temporarily unavailable',
    paragraphs: [
      `${what} Nothing is wrong with your account.`,
      `Try again in ${RETRY_AFTER_SECONDS} seconds.`,
    ],
    actions: [retry(c), back(c)],
  });

/** One entry per catalogue error that can reach a browser. */
const WORDS: [new (...a: never[]) => FastifyError, Words][] = [
  [
    UnauthenticatedError,
    (c) => ({
      title: 'You are not signed in',
      paragraphs: [`Sign in to continue to ${c.pages.appName}. Your session may have ended or expired.`],
      actions: [signIn(c), back(c)],
    }),
  ],
  [
    InteractionRequiredError,
    (c) => ({
      title: 'Please sign in again',
      paragraphs: [`This part of ${c.pages.appName} needs you to sign in again or to allow more access.`],
      actions: [signIn(c, 'Sign in again'), back(c)],
    }),
  ],
  [
    CrossSiteSignOutError,
    (c) => ({
      title: 'Sign-out was not done',
      paragraphs: [
        'The request to sign you out came from another website, so it was ignored to protect you. You are still signed in.',
      ],
      actions: [{ label: 'Sign out', href: c.pages.logoutPath }, back(c)],
    }),
  ],
  [
    ForbiddenError,
    (c) => ({
      title: 'You do not have access to this page',
      paragraphs: [
        `You are signed in, but your account is not allowed to open this page of ${c.pages.appName}. Ask an administrator if you need access.`,
      ],
      actions: [back(c), { label: 'Sign in with another account', href: c.pages.logoutPath }],
    }),
  ],
  [
    SignInRefusedError,
    (c) =>
      /\(access_denied\)/.test(c.message)
        ? {
            title: 'Sign-in was cancelled',
            paragraphs: [
              'The sign-in did not go ahead: it was cancelled on the sign-in page, or the sign-in service declined it. You are not signed in.',
            ],
            actions: [startAgain(c), back(c)],
          }
        : {
            title: 'Your account cannot use this application',
            paragraphs: [
              `The sign-in worked, but ${c.pages.appName} does not accept this account. Try another account, or ask an administrator.`,
            ],
            actions: [startAgain(c, 'Sign in with another account')],
          },
  ],
  [
    SignInFailedError,
    (c) => ({
      title: 'Sign-in did not finish',
      paragraphs: /expired|another browser/.test(c.message)
        ? [
            'The sign-in took too long, or it was started in another browser or tab. Nothing is wrong with your account: start again.',
          ]
        : [`The sign-in could not be completed (${c.message}). Please start again.`],
      actions: [startAgain(c), back(c)],
    }),
  ],
  [
    WrongHostError,
    (c) => ({
      title: 'Wrong address',
      paragraphs: [sentence(c.message)],
      actions: [{ label: `Open ${c.pages.origin}`, href: `${c.pages.origin}/` }],
    }),
  ],
  [
    NotFoundError,
    (c) => ({
      title: 'Page not found',
      paragraphs: ['There is nothing at this address.'],
      actions: [back(c)],
    }),
  ],
  [
    SignInLoopError,
    (c) => ({ title: 'Sign-in keeps starting over', paragraphs: [], actions: [retry(c), back(c)] }),
  ],
  [
    ProviderConfigError,
    (c) => ({
      title: 'Sign-in is not set up correctly',
      paragraphs: [
        'The sign-in service refused this application. An administrator must fix its settings; trying again will not help.',
      ],
      actions: [back(c)],
    }),
  ],
  [ProviderUnavailableError, unavailable('The sign-in service is not answering right now.')],
  [TokenStoreUnavailableError, unavailable('Your session store is not answering right now.')],
  [ShuttingDownError, unavailable('This server is restarting.')],
  [
    UpstreamUnavailableError,
    (c) => ({
      title: `${c.pages.appName} is not answering`,
      paragraphs: ['The application behind this sign-in could not be reached. Try again in a moment.'],
      actions: [retry(c), back(c)],
    }),
  ],
  [
    UpstreamTimeoutError,
    (c) => ({
      title: `${c.pages.appName} took too long to answer`,
      paragraphs: ['The application did not answer in time. Try again in a moment.'],
      actions: [retry(c), back(c)],
    }),
  ],
];

/** The page for an error (`err` when it is a catalogue error, else only status and message). */
export function errorPage(c: ErrorContext, err?: FastifyError): Page {
  // By constructor, not instanceof: @fastify/error's instanceof compares codes, and several entries share one.
  const words = WORDS.find(([type]) => err?.constructor === type)?.[1] ?? generic;
  const w = words(c);
  return {
    status: c.status,
    title: w.title,
    paragraphs: [...w.paragraphs, ...c.hints],
    actions: w.actions,
    detail: `${c.status} ${c.message}`,
  };
}

const generic: Words = (c) =>
  c.status >= 500
    ? {
        title: 'Something went wrong',
        paragraphs: ['This request could not be completed. Try again in a moment.'],
        actions: [retry(c), back(c)],
      }
    : {
        title: 'This request could not be handled',
        paragraphs: [sentence(c.message)],
        actions: [back(c)],
      };

/** A catalogue message (lower case, no stop) as a sentence. */
const sentence = (m: string) => `${m.charAt(0).toUpperCase()}${m.slice(1)}.`;
