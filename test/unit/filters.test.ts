import { expect } from 'chai';
import { filterInMemory, wildcardToLike, wildcardToRegExp } from '../../src/domain/filters';

describe('EC2 filters', () => {
  it('translates * and ? wildcards, with backslash escapes', () => {
    expect(wildcardToRegExp('web-*').test('web-01')).to.equal(true);
    expect(wildcardToRegExp('web-?').test('web-10')).to.equal(false);
    expect(wildcardToRegExp('a\\*b').test('a*b')).to.equal(true);
    expect(wildcardToRegExp('a\\*b').test('axb')).to.equal(false);
    expect(wildcardToRegExp('(x)').test('(x)')).to.equal(true);
    expect(wildcardToLike('50%_*?')).to.equal('50\\%\\_%_');
  });

  it('ORs the values of one filter and ANDs filters; refuses unknown names', () => {
    const items = [
      { n: 'a', s: 'running' },
      { n: 'b', s: 'stopped' },
      { n: 'c', s: 'running' },
    ];
    const acc = { name: (i: { n: string }) => i.n, state: (i: { s: string }) => i.s };
    expect(filterInMemory(items, [{ Name: 'name', Values: ['a', 'b'] }], acc).map((i) => i.n)).to.deep.equal(['a', 'b']);
    expect(
      filterInMemory(
        items,
        [
          { Name: 'name', Values: ['a', 'b'] },
          { Name: 'state', Values: ['running'] },
        ],
        acc,
      ).map((i) => i.n),
    ).to.deep.equal(['a']);
    expect(() => filterInMemory(items, [{ Name: 'nope', Values: ['x'] }], acc)).to.throw(/filter 'nope' is invalid/);
  });
});
