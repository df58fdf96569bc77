import { describe, expect, it } from 'vitest';
import { tokenize } from '../../src/query/lexer.js';

describe('filter lexer', () => {
  it('keeps addresses, CIDRs, ranges and hyphenated keywords as single words, with their offsets', () => {
    const toks = tokenize('src net 10.0.0.0/8 and port in [8000-8080] && icmp-type 8');
    expect(toks.map((t) => `${t.kind}:${t.text}@${t.pos}`)).toEqual([
      'word:src@0', 'word:net@4', 'word:10.0.0.0/8@8', 'and:and@19', 'word:port@23', 'word:in@28', '[:[@31',
      'word:8000-8080@32', ']:]@41', 'and:&&@43', 'word:icmp-type@46', 'word:8@56', 'eof:@57',
    ]);
  });

  it('reads and/or/not in any case and as &&, ||, !', () => {
    expect(tokenize('AND Or nOt && || !').map((t) => t.kind)).toEqual(['and', 'or', 'not', 'and', 'or', 'not', 'eof']);
  });

  it('reads every comparator, longest first', () => {
    expect(tokenize('<= >= == < > =').map((t) => t.text)).toEqual(['<=', '>=', '==', '<', '>', '=', '']);
  });

  it('skips # comments to the end of the line, as in filter files', () => {
    expect(tokenize('proto tcp # web\n# whole line\nand port 80').map((t) => t.text)).toEqual([
      'proto', 'tcp', 'and', 'port', '80', '',
    ]);
  });

  it('rejects a lone "&" with its column and what was meant', () => {
    expect(() => tokenize('proto tcp & port 80')).toThrow('filter: unexpected character "&" at column 11: expected "&&" or "and"');
  });
});
