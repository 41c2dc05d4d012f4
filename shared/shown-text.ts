/** Something that shows: a character other than spaces and invisible formatting (a zero-width space, a soft hyphen). */
const SHOWN = /[^\p{White_Space}\p{Cf}\p{Cc}]/u;

/** Whether a title or a name shows anything, as the server asks of one (`schemas.ts`); the web board's forms check it first. */
export const showsSomething = (value: string): boolean => SHOWN.test(value);
