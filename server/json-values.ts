import { MAX_MESSAGE_VALUES } from '../shared/events.js';
import { DomainError, invalid } from './errors.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;

/**
 * How many values the JSON text `json` holds, found without parsing it: its punctuation outside
 * strings is counted (`{`, `[`, `,` and `:`, about two per member of an object and one per item
 * of an array), up to `most + 1`, where the count stops.
 *
 * Parsing is what it spares: a message near 1 MiB of distinct keys costs `JSON.parse` about
 * 100 ms on a two-core machine, on the event loop every tenant shares, while this reads a message
 * of one long string in a fraction of a millisecond (`indexOf` finds the string's end). A text
 * that is not JSON is counted all the same; its parse then fails as before.
 */
export function countValues(json: string, most: number): number {
  let marks = 0;
  for (let at = 0; at < json.length; at++) {
    const char = json.charCodeAt(at);
    if (char === QUOTE) at = closingQuote(json, at);
    else if ((char === COMMA || char === COLON || char === OPEN_BRACE || char === OPEN_BRACKET) && ++marks > most) return marks;
  }
  return marks;
}

/** Where the string opened at `opening` ends: its first quote after it that an odd run of backslashes does not escape. */
function closingQuote(json: string, opening: number): number {
  let quote = opening;
  for (;;) {
    quote = json.indexOf('"', quote + 1);
    if (quote === -1) return json.length;
    let backslashes = 0;
    while (json.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return quote;
  }
}

/** The refusal of a socket message or an HTTP body that holds more than `MAX_MESSAGE_VALUES` values. */
export function tooManyValues() {
  return invalid(`a message may hold at most ${MAX_MESSAGE_VALUES.toLocaleString('en')} values (members of objects, items of arrays)`);
}

/** The refusal of a socket message that came with others holding more than `MAX_MESSAGE_VALUES` values in all: send it again in a moment. */
export function tooManyValuesAtOnce() {
  return new DomainError(
    'RATE_LIMITED',
    `a connection's messages read at once may hold at most ${MAX_MESSAGE_VALUES.toLocaleString('en')} values in all; send it again in a moment`,
    { retryAfterMs: 1000 },
  );
}

/**
 * What a socket event's handler is given in place of a payload refused unparsed (too many values,
 * or too many at once): answered with its refusal. No payload from the wire is ever one.
 */
export class UnreadPayload {
  constructor(readonly refusal: DomainError) {}
}

let turn = 0;
let turnEnding = false;

/**
 * A number that changes with each turn of the event loop, once the turn's I/O is done: what one
 * read of a WebSocket, or one long-polling POST, is decoded within.
 */
export function currentTurn(): number {
  if (!turnEnding) {
    turnEnding = true;
    setImmediate(() => {
      turn += 1;
      turnEnding = false;
    });
  }
  return turn;
}
