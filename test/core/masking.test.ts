import { describe, expect, it } from 'vitest';
import {
  COMPOUND_SURNAMES,
  containsPersonalData,
  findPersonalData,
  maskAccount,
  maskAddress,
  maskEmail,
  maskMobile,
  maskPersonName,
  maskResidentId,
  maskText,
  residentIdCheckCharacter,
} from '../../core/masking';

/** A valid 18-character ID: region, birth date, sequence, GB 11643 check character. */
function residentId(region: string, birth: string, sequence: string): string {
  const first17 = `${region}${birth}${sequence}`;
  return `${first17}${residentIdCheckCharacter(first17)}`;
}

describe('maskPersonName', () => {
  it.each([
    ['张三', '张某'],
    ['张三丰', '张某'],
    ['李四', '李某'],
    ['王', '王某'],
    ['王小二麻', '王某'],
    ['欧阳修', '欧阳某'],
    ['欧阳娜娜', '欧阳某'],
    ['司马光', '司马某'],
    ['诸葛亮', '诸葛某'],
    ['上官婉儿', '上官某'],
    ['东方朔', '东方某'],
    ['皇甫谧', '皇甫某'],
    ['尉迟恭', '尉迟某'],
    ['公孙策', '公孙某'],
    ['慕容复', '慕容某'],
    ['令狐冲', '令狐某'],
    ['长孙无忌', '长孙某'],
    ['宇文泰', '宇文某'],
    ['司徒雷登', '司徒某'],
    ['夏侯惇', '夏侯某'],
    ['  张 三丰 ', '张某'],
  ])('masks the Chinese name %s as %s', (name, masked) => {
    expect(maskPersonName(name)).toBe(masked);
  });

  it('reads a two-character name starting like a compound surname as surname + given name', () => {
    expect(maskPersonName('欧阳')).toBe('欧某');
    expect(maskPersonName('司马')).toBe('司某');
  });

  it.each([
    ['阿卜杜拉·买买提', '阿某'],
    ['买买提•艾力', '买某'],
    ['约翰・史密斯', '约某'],
  ])('keeps the first character of a name written with a separator: %s -> %s', (name, masked) => {
    expect(maskPersonName(name)).toBe(masked);
  });

  it.each([
    ['John Smith', 'J.'],
    ['john smith', 'J.'],
    ['Zhang Sanfeng', 'Z.'],
    ['Marie-Claire Dupont', 'M.'],
    ["O'Neil", 'O.'],
  ])('keeps the first letter of a Latin-script name: %s -> %s', (name, masked) => {
    expect(maskPersonName(name)).toBe(masked);
  });

  it('is idempotent', () => {
    for (const name of ['张三丰', '欧阳修', 'John Smith', '阿卜杜拉·买买提']) {
      const once = maskPersonName(name);
      expect(maskPersonName(once)).toBe(once);
    }
  });

  it('returns an empty string for an empty name and 某 for one it cannot read', () => {
    expect(maskPersonName('')).toBe('');
    expect(maskPersonName('   ')).toBe('');
    expect(maskPersonName('123')).toBe('某');
  });

  it('knows each listed compound surname', () => {
    for (const s of [
      '欧阳',
      '司马',
      '诸葛',
      '上官',
      '东方',
      '皇甫',
      '尉迟',
      '公孙',
      '慕容',
      '令狐',
      '长孙',
      '宇文',
      '司徒',
      '夏侯',
    ]) {
      expect(COMPOUND_SURNAMES).toContain(s);
    }
  });
});

describe('residentIdCheckCharacter', () => {
  it('computes the GB 11643-1999 check character', () => {
    // The standard's own example.
    expect(residentIdCheckCharacter('11010519491231002')).toBe('X');
    expect(residentIdCheckCharacter('44052418800101001')).toBe('4');
  });

  it('refuses anything but 17 digits', () => {
    expect(() => residentIdCheckCharacter('1234')).toThrow(RangeError);
  });
});

describe('maskResidentId', () => {
  it.each([
    ['11010519491231002X', '110105********002X'],
    ['11010519491231002x', '110105********002X'],
    ['440524188001010014', '440524********0014'],
    ['110105 19491231 002X', '110105********002X'],
    ['110105491231002', '110105******002'],
  ])('keeps region and sequence, masks the birth date: %s -> %s', (id, masked) => {
    expect(maskResidentId(id)).toBe(masked);
  });

  it('masks anything that is not an ID number entirely', () => {
    expect(maskResidentId('12345')).toBe('*****');
    expect(maskResidentId('11010519491231002Y')).toBe('*'.repeat(18));
    expect(maskResidentId('')).toBe('');
  });

  it('keeps the length and never shows the birth date', () => {
    const id = residentId('320102', '19870615', '123');
    const masked = maskResidentId(id);
    expect(masked).toHaveLength(18);
    expect(masked).not.toContain('19870615');
    expect(masked).not.toContain('0615');
  });
});

describe('maskMobile', () => {
  it.each([
    ['13812345678', '138****5678'],
    ['19912345678', '199****5678'],
    ['138-1234-5678', '138****5678'],
    ['138 1234 5678', '138****5678'],
    ['+8613812345678', '+86 138****5678'],
    ['+86 138 1234 5678', '+86 138****5678'],
    ['008613812345678', '0086 138****5678'],
    ['8613812345678', '86 138****5678'],
  ])('%s -> %s', (phone, masked) => {
    expect(maskMobile(phone)).toBe(masked);
  });

  it('masks what is not a mobile number entirely', () => {
    expect(maskMobile('12812345678')).toBe('***********');
    expect(maskMobile('010-12345678')).toBe('************');
  });
});

describe('maskEmail', () => {
  it('keeps the first character and the domain', () => {
    expect(maskEmail('zhangsanfeng@example.cn')).toBe('z***@example.cn');
    expect(maskEmail('not an email')).toBe('************');
  });
});

describe('maskAddress', () => {
  it.each([
    ['北京市朝阳区建国路88号SOHO现代城1号楼1001室', '北京市朝阳区****'],
    ['上海市浦东新区张江路100号', '上海市浦东新区****'],
    ['广东省深圳市南山区科技园南区高新南一道', '广东省深圳市南山区****'],
    ['广东深圳市南山区粤海街道', '广东深圳市南山区****'],
    ['浙江省杭州市西湖区文三路', '浙江省杭州市西湖区****'],
    ['江苏省苏州市昆山市玉山镇', '江苏省苏州市昆山市****'],
    ['江苏省昆山市玉山镇人民路1号', '江苏省昆山市****'],
    ['新疆维吾尔自治区乌鲁木齐市天山区解放南路', '新疆维吾尔自治区乌鲁木齐市天山区****'],
    ['内蒙古自治区呼和浩特市新城区', '内蒙古自治区呼和浩特市新城区'],
    ['湖北省恩施土家族苗族自治州恩施市舞阳大街', '湖北省恩施土家族苗族自治州恩施市****'],
    ['云南省迪庆藏族自治州香格里拉市', '云南省迪庆藏族自治州香格里拉市'],
    ['重庆市渝中区解放碑', '重庆市渝中区****'],
    ['四川省成都市武侯区 人民南路四段 1 号', '四川省成都市武侯区****'],
  ])('%s -> %s', (address, masked) => {
    expect(maskAddress(address)).toBe(masked);
  });

  it('masks an address without a recognisable region entirely', () => {
    expect(maskAddress('建国路88号')).toBe('****');
    expect(maskAddress('123 Main Street')).toBe('****');
    expect(maskAddress('')).toBe('****');
  });

  it('never keeps a house number', () => {
    for (const a of [
      '北京市朝阳区建国路88号',
      '广东省深圳市南山区科技园1栋',
      '江苏省昆山市玉山镇人民路1号',
    ]) {
      expect(maskAddress(a)).not.toMatch(/\d/);
    }
  });
});

describe('maskAccount', () => {
  it.each([
    ['lawyer-1', 'la***1'],
    ['zhangsanfeng', 'zh***g'],
    ['abcd', 'a***'],
    ['a', 'a***'],
    ['13812345678', '138****5678'],
    ['zs@example.cn', 'z***@example.cn'],
    ['11010519491231002X', '110105********002X'],
    ['', ''],
  ])('%s -> %s', (account, masked) => {
    expect(maskAccount(account)).toBe(masked);
  });
});

describe('maskText', () => {
  const id = '11010519491231002X';

  it('masks ID and mobile numbers inside Chinese text', () => {
    expect(maskText(`身份证号${id}，电话13812345678。`)).toBe(
      '身份证号110105********002X，电话138****5678。',
    );
  });

  it('masks numbers separated by spaces, dashes and punctuation', () => {
    expect(maskText(`ID: ${id}; tel: +86 138-1234-5678`)).toBe(
      'ID: 110105********002X; tel: +86 138****5678',
    );
    expect(maskText('(13812345678)')).toBe('(138****5678)');
  });

  it('masks legacy 15-digit ID numbers', () => {
    expect(maskText('旧证 110105491231002 已换领')).toBe('旧证 110105******002 已换领');
  });

  it('masks every occurrence', () => {
    expect(maskText('13812345678 / 13912345678 / 13812345678')).toBe(
      '138****5678 / 139****5678 / 138****5678',
    );
  });

  it('leaves digests, hex ids, times and ordinary numbers alone', () => {
    const text =
      'sha256:13812345678a110105194912310025ffffffffffffffffffffffffffffffffffffff tx 00113812345678 ' +
      'at 2026-11-28T10:00:00.000Z, block 7, 1,234,567 bytes, order 2026112812345678901';
    expect(maskText(text)).toBe(text);
  });

  it('masks known names, longest first, Latin names caselessly and by whole word', () => {
    expect(maskText('张三丰与张三签订协议', { names: ['张三', '张三丰'] })).toBe(
      '张某与张某签订协议',
    );
    expect(maskText('signed by JOHN SMITH and johnsmithson', { names: ['John Smith'] })).toBe(
      'signed by J. and johnsmithson',
    );
    expect(maskText('欧阳修文的合同', { names: ['欧阳修文'] })).toBe('欧阳某的合同');
  });

  it('ignores empty names', () => {
    expect(maskText('张三', { names: ['', '  '] })).toBe('张三');
  });

  it('returns text without personal data unchanged', () => {
    expect(maskText('调解协议.pdf')).toBe('调解协议.pdf');
  });
});

describe('findPersonalData and containsPersonalData', () => {
  it('finds unmasked IDs, mobile numbers and names, in order', () => {
    const found = findPersonalData('张三丰 13812345678 11010519491231002X', ['张三丰']);
    expect(found.map((f) => f.kind)).toEqual(['name', 'mobile', 'resident-id']);
    expect(found[0]).toEqual({ kind: 'name', value: '张三丰', index: 0 });
  });

  it('counts a given name of two or more characters as identifying', () => {
    expect(containsPersonalData('三丰签字', ['张三丰'])).toBe(true);
    expect(containsPersonalData('Smith signed', ['John Smith'])).toBe(true);
  });

  it('is false for masked text', () => {
    const text = maskText('张三丰 13812345678 11010519491231002X 110105491231002', {
      names: ['张三丰'],
    });
    expect(containsPersonalData(text, ['张三丰'])).toBe(false);
    expect(text).toBe('张某 138****5678 110105********002X 110105******002');
  });

  it('ignores names that are already masked', () => {
    expect(containsPersonalData('张某', ['张某'])).toBe(false);
  });

  it('is false for a report-like text with digests and times only', () => {
    expect(
      containsPersonalData(`sha256:${'ab'.repeat(32)} block 7 at 2026-11-28T10:00:00.000Z`, [
        '张三丰',
      ]),
    ).toBe(false);
  });
});

describe('masking is total', () => {
  it('never throws and never returns an unmasked ID or phone for random digit strings', () => {
    for (let i = 0; i < 500; i++) {
      const digits = Array.from({ length: 10 + (i % 12) }, (_, k) =>
        String((i * 7 + k * 13) % 10),
      ).join('');
      const text = `x ${digits} y`;
      const masked = maskText(text);
      expect(findPersonalData(masked).length).toBe(0);
      expect(() => maskResidentId(digits)).not.toThrow();
      expect(() => maskMobile(digits)).not.toThrow();
      expect(() => maskAddress(digits)).not.toThrow();
    }
  });
});
