/** Something that shows: a character other than spaces and invisible formatting (a zero-width space, a soft hyphen). */
const SHOWN = /[^\p{White_Space}\p{Cf}\p{Cc}]/u;

/** Whether a title or a name shows anything, as the server asks of one (`schemas.ts`); the web board's forms check it first. */
export const showsSomething = (value: string): boolean => SHOWN.test(value);

/**
 * A label's name as the server keeps it (`createLabelBody`): trimmed, in one of Unicode's
 * spellings (NFC), as the name is unique: "Café" typed with its accent composed or apart is one label.
 */
export const labelName = (value: string): string => value.trim().normalize('NFC');
