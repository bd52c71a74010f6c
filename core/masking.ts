/**
 * Masking of personal data in court-facing documents (reports, certificates), following the rules
 * the Supreme People's Court set for judgments published online (最高人民法院关于人民法院在互联网
 * 公布裁判文书的规定, 法释〔2016〕19号, arts. 9-10):
 *
 * | data                      | rule                                                  | example                  |
 * |---------------------------|-------------------------------------------------------|--------------------------|
 * | Chinese name              | family name + 某 (two-character compound surnames kept) | 张三丰 -> 张某, 欧阳修文 -> 欧阳某 |
 * | minority / transliterated | first character + 某                                   | 阿卜杜拉·买买提 -> 阿某    |
 * | Latin-script name         | first letter + `.`                                    | John Smith -> J.         |
 * | resident ID, 18 chars     | region code (6) and last 4 kept, birth date masked     | 110105********1234       |
 * | resident ID, 15 digits    | region code (6) and last 3 kept, birth date masked     | 110105******123          |
 * | mobile number             | first 3 and last 4 digits kept                         | 138****5678              |
 * | address                   | province / city / district kept, the rest `****`       | 北京市朝阳区****           |
 * | e-mail address            | first character of the local part, domain kept         | z***@example.cn          |
 *
 * The ID rule keeps exactly the characters that do not encode the birth date: the administrative
 * division code (GB/T 2260) and the sequence code (plus, for 18 characters, the check character,
 * GB 11643-1999). One `*` replaces one character, so a masked ID keeps its length. (Art. 10 deletes
 * ID and phone numbers and addresses from published judgments outright; a report addressed to the
 * parties and the court keeps the parts above so a party can recognise its own number.)
 *
 * Every function is total: input it cannot parse is masked entirely (fail safe), never returned in
 * clear and never thrown on. Pure; no I/O.
 */

/**
 * Two-character family names. A name starting with one of these and at least three characters long
 * keeps both characters (欧阳修 -> 欧阳某); a two-character name is read as surname + given name.
 */
// prettier-ignore
export const COMPOUND_SURNAMES: readonly string[] = [
  '欧阳', '司马', '诸葛', '上官', '东方', '皇甫', '尉迟', '公孙', '慕容', '令狐', '长孙', '宇文',
  '司徒', '夏侯', '轩辕', '端木', '独孤', '南宫', '西门', '百里', '呼延', '闻人', '万俟', '澹台',
  '公冶', '太史', '申屠', '钟离', '濮阳', '淳于', '单于', '赫连', '司空', '拓跋', '东郭', '第五',
  '谷梁', '左丘', '闾丘', '公良', '微生', '梁丘', '羊舌', '仲孙', '宗政', '亓官', '乐正', '鲜于',
  '巫马', '公西', '漆雕', '颛孙', '子车', '叱干', '即墨', '夹谷', '宰父', '公羊', '哥舒',
];

/** Kinds of personal data the finders recognise in free text. */
export type PersonalDataKind = 'resident-id' | 'mobile' | 'name';

export interface PersonalDataFinding {
  readonly kind: PersonalDataKind;
  /** The text as found (in clear: handle with care). */
  readonly value: string;
  /** UTF-16 offset in the searched text. */
  readonly index: number;
}

export interface MaskTextOptions {
  /** Names known to be in the text (e.g. the depositor's), replaced by their masked form. */
  readonly names?: readonly string[];
}

const HAN = /\p{Script=Han}/u;
const NAME_SEPARATORS = /[·•・．.]/;
const BOUNDARY_BEFORE = '(?<![0-9A-Za-z])';
const BOUNDARY_AFTER = '(?![0-9A-Za-z])';
const MONTH = '(?:0[1-9]|1[0-2])';
const DAY = '(?:0[1-9]|[12]\\d|3[01])';

/** GB 11643-1999: region code, YYYYMMDD, 3-digit sequence, check character. */
const ID18 = `[1-9]\\d{5}(?:18|19|20)\\d{2}${MONTH}${DAY}\\d{3}[\\dXx]`;
/** The 15-digit identity card number issued before 1999: region, YYMMDD, sequence. */
const ID15 = `[1-9]\\d{5}\\d{2}${MONTH}${DAY}\\d{3}`;
/** PRC mobile numbers, optionally with the country code and `-`/space separators (3-4-4). */
const MOBILE = `(?:(?:\\+|00)?86[- ]?)?1[3-9]\\d(?:[- ]?\\d{4}){2}`;

const ID_IN_TEXT = new RegExp(`${BOUNDARY_BEFORE}(?:${ID18}|${ID15})${BOUNDARY_AFTER}`, 'g');
const MOBILE_IN_TEXT = new RegExp(`(?<![0-9A-Za-z+])${MOBILE}${BOUNDARY_AFTER}`, 'g');
const ID18_WHOLE = /^\d{17}[\dXx]$/;
const ID15_WHOLE = /^\d{15}$/;
const MOBILE_WHOLE = new RegExp(`^${MOBILE}$`);
const EMAIL_WHOLE = /^([^\s@]+)@([^\s@]+\.[^\s@]+)$/;

/** Masks every character (the fail-safe answer for input that cannot be parsed). */
function maskAll(text: string): string {
  return '*'.repeat([...text].length);
}

/**
 * A person's name as courts publish it: family name + 某; names written with a separator (ethnic
 * minority names, transliterations) keep their first character; Latin-script names keep their
 * first letter followed by `.`. Idempotent: a masked name masks to itself.
 */
export function maskPersonName(name: string): string {
  const trimmed = name.trim().replace(/\s+/g, ' ');
  if (trimmed === '') return '';
  const first = [...trimmed][0] as string;
  if (/^[A-Za-z]/.test(trimmed) && !HAN.test(trimmed)) return `${first.toUpperCase()}.`;
  if (!HAN.test(first)) return '某';
  if (NAME_SEPARATORS.test(trimmed)) return `${first}某`;
  const compact = trimmed.replace(/ /g, '');
  const compound = COMPOUND_SURNAMES.find((surname) => compact.startsWith(surname));
  if (compound !== undefined && [...compact].length >= 3) return `${compound}某`;
  return `${first}某`;
}

/**
 * A PRC resident identity number with its birth date masked: 18 characters keep the first 6 and
 * the last 4 (`110105********1234`); 15 digits keep the first 6 and the last 3 (`110105******123`).
 * Spaces are ignored; a trailing `x` is written `X`. Anything else is masked entirely.
 */
export function maskResidentId(id: string): string {
  const compact = id.replace(/\s+/g, '').toUpperCase();
  if (ID18_WHOLE.test(compact)) return `${compact.slice(0, 6)}${'*'.repeat(8)}${compact.slice(14)}`;
  if (ID15_WHOLE.test(compact)) return `${compact.slice(0, 6)}${'*'.repeat(6)}${compact.slice(12)}`;
  return maskAll(id.trim());
}

/** GB 11643-1999 check character of the first 17 digits of an 18-character ID (ISO 7064 MOD 11-2). */
export function residentIdCheckCharacter(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new RangeError('requires exactly 17 digits');
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * (2 ** (17 - i) % 11);
  return '10X98765432'[sum % 11] as string;
}

/**
 * A mobile number as `138****5678`; a country code given with it is kept (`+86 138****5678`).
 * Anything that is not a PRC mobile number is masked entirely.
 */
export function maskMobile(phone: string): string {
  const trimmed = phone.trim();
  if (!MOBILE_WHOLE.test(trimmed)) return maskAll(trimmed);
  const digits = trimmed.replace(/\D/g, '');
  const local = digits.slice(-11);
  const country =
    digits.length === 11
      ? ''
      : trimmed.startsWith('+')
        ? '+86 '
        : trimmed.startsWith('00')
          ? '0086 '
          : '86 ';
  return `${country}${local.slice(0, 3)}****${local.slice(7)}`;
}

/** An e-mail address as `z***@example.cn`; anything else is masked entirely. */
export function maskEmail(email: string): string {
  const match = EMAIL_WHOLE.exec(email.trim());
  if (!match) return maskAll(email.trim());
  const local = match[1] as string;
  return `${[...local][0] as string}***@${match[2] as string}`;
}

// prettier-ignore
const PROVINCES = [
  '北京', '天津', '上海', '重庆', '河北', '山西', '辽宁', '吉林', '黑龙江', '江苏', '浙江', '安徽',
  '福建', '江西', '山东', '河南', '湖北', '湖南', '广东', '海南', '四川', '贵州', '云南', '陕西',
  '甘肃', '青海', '台湾', '内蒙古', '广西', '西藏', '宁夏', '新疆', '香港', '澳门',
];
const PROVINCE_SUFFIX = '(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)?';
const PROVINCE_RE = new RegExp(`^(?:${PROVINCES.join('|')})${PROVINCE_SUFFIX}`);
/** Characters that end an administrative name or start a street address. */
const NOT_ADMIN = '[^省市区县旗盟路街道巷弄号镇乡村组栋楼室\\d\\s,，]';
const CITY_RE = new RegExp(`^${NOT_ADMIN}{1,10}?(?:自治州|地区|盟|市)`);
const DISTRICT_RE = new RegExp(`^${NOT_ADMIN}{1,10}?(?:自治县|自治旗|林区|特区|新区|区|县|市|旗)`);

/**
 * An address reduced to its province, city and district (county), the rest written `****`:
 * `广东省深圳市南山区科技园路1号` -> `广东省深圳市南山区****`. An address that does not start with a
 * recognisable province, city or district is masked entirely (`****`).
 */
export function maskAddress(address: string): string {
  let rest = address.trim().replace(/\s+/g, '');
  let kept = '';
  const take = (re: RegExp): boolean => {
    const match = re.exec(rest);
    if (!match) return false;
    kept += match[0];
    rest = rest.slice(match[0].length);
    return true;
  };
  take(PROVINCE_RE);
  take(CITY_RE);
  take(DISTRICT_RE);
  if (kept === '') return '****';
  return rest === '' ? kept : `${kept}****`;
}

/**
 * An account identifier as shown to a court: phone numbers, e-mail addresses and ID numbers by
 * their own rules; any other identifier keeps its first two and last characters (`la***1`), or
 * only its first character when it has four or fewer.
 */
export function maskAccount(account: string): string {
  const trimmed = account.trim();
  if (MOBILE_WHOLE.test(trimmed)) return maskMobile(trimmed);
  if (EMAIL_WHOLE.test(trimmed)) return maskEmail(trimmed);
  if (ID18_WHOLE.test(trimmed) || ID15_WHOLE.test(trimmed)) return maskResidentId(trimmed);
  const chars = [...trimmed];
  if (chars.length === 0) return '';
  if (chars.length <= 4) return `${chars[0] as string}***`;
  return `${chars.slice(0, 2).join('')}***${chars[chars.length - 1] as string}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Matcher for a known name in text: exact for Han names, word-bounded and caseless for Latin. */
function namePattern(name: string): RegExp {
  const escaped = escapeRegExp(name).replace(/ /g, '\\s+');
  return HAN.test(name)
    ? new RegExp(escaped, 'gu')
    : new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, 'giu');
}

function cleanNames(names: readonly string[] | undefined): string[] {
  const set = new Set(
    (names ?? []).map((n) => n.trim().replace(/\s+/g, ' ')).filter((n) => n !== ''),
  );
  return [...set].sort((a, b) => b.length - a.length);
}

/**
 * Masks, inside free text, every resident ID number, every mobile number and every occurrence of
 * the given names. Digests and other long hex or alphanumeric strings are left alone: a number is
 * only recognised when no letter or digit touches it.
 */
export function maskText(text: string, options: MaskTextOptions = {}): string {
  let out = text
    .replace(ID_IN_TEXT, (id) => maskResidentId(id))
    .replace(MOBILE_IN_TEXT, (phone) => maskMobile(phone));
  for (const name of cleanNames(options.names)) {
    const masked = maskPersonName(name);
    if (masked !== name) out = out.replace(namePattern(name), masked);
  }
  return out;
}

/** The parts of a known name whose presence alone would identify the person. */
function nameFragments(name: string): string[] {
  const fragments = [name];
  if (HAN.test(name)) {
    const masked = maskPersonName(name);
    const surname = masked.endsWith('某') ? masked.slice(0, -1) : '';
    const given = name.replace(/\s+/g, '').slice(surname.length);
    if (surname !== '' && [...given].length >= 2) fragments.push(given);
  } else {
    for (const part of name.split(/[\s·.,-]+/))
      if (part.length >= 2 && part !== name) fragments.push(part);
  }
  return fragments;
}

/**
 * Every unmasked resident ID, mobile number and known name (or its given name, when that has two
 * or more characters) found in `text`, in order of position.
 */
export function findPersonalData(
  text: string,
  knownNames: readonly string[] = [],
): PersonalDataFinding[] {
  const found: PersonalDataFinding[] = [];
  for (const match of text.matchAll(ID_IN_TEXT)) {
    found.push({ kind: 'resident-id', value: match[0], index: match.index });
  }
  for (const match of text.matchAll(MOBILE_IN_TEXT)) {
    found.push({ kind: 'mobile', value: match[0], index: match.index });
  }
  for (const name of cleanNames(knownNames)) {
    if (maskPersonName(name) === name) continue;
    for (const fragment of nameFragments(name)) {
      for (const match of text.matchAll(namePattern(fragment))) {
        const end = match.index + match[0].length;
        // A given name inside a full name already found is the same finding.
        const inside = found.some(
          (f) => f.kind === 'name' && f.index <= match.index && end <= f.index + f.value.length,
        );
        if (!inside) found.push({ kind: 'name', value: match[0], index: match.index });
      }
    }
  }
  return found.sort((a, b) => a.index - b.index);
}

/** True when `text` holds an unmasked resident ID, mobile number or one of `knownNames`. */
export function containsPersonalData(text: string, knownNames: readonly string[] = []): boolean {
  return findPersonalData(text, knownNames).length > 0;
}
