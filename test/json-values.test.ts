import { describe, expect, it } from 'vitest';
import { countValues } from '../server/json-values.js';

const holdsMoreValuesThan = (json: string, most: number) => countValues(json, most) > most;

const keys = (count: number, key: (i: number) => string) =>
  `{${Array.from({ length: count }, (_, i) => `${JSON.stringify(key(i))}:1`).join(',')}}`;

describe('countValues', () => {
  it('counts the punctuation outside strings, and stops one past the bound', () => {
    expect(countValues('{"a":1,"b":[1,2]}', 100)).toBe(6);
    expect(countValues('"a,b:{[}]"', 100)).toBe(0);
    expect(countValues(`[${Array(1_000).fill(0).join(',')}]`, 100)).toBe(101);
  });

  it('counts the members of objects and the items of arrays, and stops past the bound', () => {
    expect(
      holdsMoreValuesThan(
        keys(50, (i) => `k${i}`),
        100,
      ),
    ).toBe(false);
    expect(
      holdsMoreValuesThan(
        keys(51, (i) => `k${i}`),
        100,
      ),
    ).toBe(true);
    expect(holdsMoreValuesThan(`[${Array(100).fill(0).join(',')}]`, 100)).toBe(false);
    expect(holdsMoreValuesThan(`[${Array(101).fill(0).join(',')}]`, 100)).toBe(true);
    expect(holdsMoreValuesThan(`[${Array(101).fill('{}').join(',')}]`, 100)).toBe(true);
  });

  it('skips what strings hold, escaped quotes and backslashes included', () => {
    expect(holdsMoreValuesThan(JSON.stringify(['event', { text: ',:[{'.repeat(1_000) }]), 100)).toBe(false);
    expect(holdsMoreValuesThan(JSON.stringify(['event', '",:\\"{['.repeat(1_000)]), 100)).toBe(false);
  });

  it('ends a string at a quote after an even run of backslashes: keys ending in a backslash are counted', () => {
    expect(
      holdsMoreValuesThan(
        keys(51, (i) => `k${i}\\`),
        100,
      ),
    ).toBe(true);
    expect(
      holdsMoreValuesThan(
        keys(51, (i) => `k${i}\\\\`),
        100,
      ),
    ).toBe(true);
  });
});
