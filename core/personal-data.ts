/**
 * Personal data must never reach chain state, logs or public responses (DESIGN.md §6). Most wire
 * fields are digests, enums or identifiers, and their patterns already exclude names and
 * addresses (no spaces, no CJK). What a pattern of letters and digits still admits is a number:
 * a resident identity card number, a phone number, an e-mail address. This module names those
 * shapes once, as a regular expression every free-text-capable field refuses with JSON Schema's
 * `not: { pattern }` (see {@link withoutPersonalData}), so HTTP bodies, chaincode arguments and
 * stored records are checked by the same schema.
 *
 * The one field shape that admits CJK is a PRC court case number (`（2026）京0105民初1234号`),
 * restricted to the characters of court and case-type codes so that no name can be written in it.
 */

/** Court codes: the supreme court, provincial abbreviations and the XPCC (兵团) courts. */
const COURT_CODE = '(?:最高法|[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼兵])';
/** Characters of case-type codes (民初, 民终, 民特, 执, 执恢, 民诉前调, 知民终...). */
const CASE_TYPE = '[民刑行执赔初终再特申诉前破督保恢异监审复议调确认撤他令催外商知财清算]{1,6}';
/** A PRC court case number (最高人民法院《关于人民法院案件案号的若干规定》), unanchored. */
export const CASE_NUMBER_BODY = `[(（〔][0-9]{4}[)）〕]${COURT_CODE}[0-9]{0,4}${CASE_TYPE}[0-9]{1,8}号`;
/** An ASCII docket or file reference: starts with a letter; no spaces, no `@`. */
export const DOCKET_BODY = '[A-Za-z][A-Za-z0-9._:/-]{0,63}';
/** A court or docket reference: a case number, or an ASCII identifier starting with a letter. */
export const CASE_REFERENCE_PATTERN = `^(?:${CASE_NUMBER_BODY}|${DOCKET_BODY})$`;

const DATE = '(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])';
/** GB 11643 citizen identity number: area, birth date (18xx-20xx), sequence, check character. */
const ID_NUMBER_18 = `(?<![0-9])[1-9][0-9]{5}(?:18|19|20)[0-9]{2}${DATE}[0-9]{3}[0-9Xx](?![0-9])`;
/** The 15-digit identity numbers issued before 1999 (two-digit year). */
const ID_NUMBER_15 = `(?<![0-9])[1-9][0-9]{5}[0-9]{2}${DATE}[0-9]{3}(?![0-9])`;
/** Mainland mobile numbers, optionally with +86 and space or hyphen groups (138 1234 5678). */
const MOBILE = '(?<![0-9])(?:\\+?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}(?![0-9])';
/** Landlines with an area code: 010-12345678, 0755-1234567. */
const LANDLINE = '(?<![0-9])0[1-9][0-9]{1,2}-[0-9]{7,8}(?![0-9])';
/**
 * E-mail addresses. The lookbehind starts a match only at the start of a run of local-part
 * characters: without it an unanchored search is quadratic in the length of such a run.
 */
const EMAIL =
  '(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}';

/**
 * Unanchored pattern matching text that holds personal data: an identity card number, a phone
 * number or an e-mail address. For JSON Schema (`not: { pattern }`) and {@link findPersonalData}.
 */
/** Longest text the schema guard searches; longer values fail their own length limits. */
export const MAX_CHECKED_LENGTH = 4096;

export const PERSONAL_DATA_PATTERN = [ID_NUMBER_18, ID_NUMBER_15, MOBILE, LANDLINE, EMAIL].join(
  '|',
);

const KINDS = [
  ['id-number', new RegExp(`${ID_NUMBER_18}|${ID_NUMBER_15}`, 'u')],
  ['phone', new RegExp(`${MOBILE}|${LANDLINE}`, 'u')],
  ['email', new RegExp(EMAIL, 'u')],
] as const;

export type PersonalDataKind = (typeof KINDS)[number][0];

/** The first kind of personal data `text` holds, or `undefined`. Linear in `text`'s length. */
export function findPersonalData(text: string): PersonalDataKind | undefined {
  for (const [kind, pattern] of KINDS) if (pattern.test(text)) return kind;
  return undefined;
}

/**
 * The schema keyword that refuses personal data in a string. Every field it guards has a length
 * limit of its own far below `maxLength`; here it bounds the search (Ajv checks `maxLength` before
 * `pattern` inside `not`, and evaluates `not` even when the field's own checks failed).
 */
export const NO_PERSONAL_DATA = {
  not: { maxLength: MAX_CHECKED_LENGTH, pattern: PERSONAL_DATA_PATTERN },
} as const;

/**
 * `schema` (a string schema) with the personal-data guard added. Validation errors of the guard
 * have rule `personalData` (core/schema.ts).
 */
export function withoutPersonalData<S extends object>(schema: S): S & typeof NO_PERSONAL_DATA {
  return { ...schema, ...NO_PERSONAL_DATA };
}
