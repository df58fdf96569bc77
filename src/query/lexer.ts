/**
 * Tokens of flowdump's filter language (modelled on nfdump's, which is tcpdump-like). Keywords and values are
 * both "words" here; the parser decides from context whether "80" is a port or "tcp" a protocol, so the lexer
 * stays small and every token keeps its offset for error messages.
 */

export type TokenKind = 'word' | 'cmp' | 'and' | 'or' | 'not' | '(' | ')' | '[' | ']' | ',' | 'eof';

export interface Token {
  kind: TokenKind;
  /** The text as written (for 'eof', empty). */
  text: string;
  /** Offset of the first character in the filter text. */
  pos: number;
}

/**
 * A filter the language rejects, with the offset of the offending token. The message is one line and names the
 * token, where it is and what was wrong: `filter: unexpected "foo" at column 12: expected a port number`.
 */
export class FilterError extends Error {
  constructor(
    message: string,
    /** Offset of the offending token in the filter text. */
    readonly pos: number,
  ) {
    super(message);
    this.name = 'FilterError';
  }
}

/** "column 12", or "line 3, column 4" for filters read from a file with several lines. */
export function location(text: string, pos: number): string {
  const before = text.slice(0, pos);
  const col = pos - (before.lastIndexOf('\n') + 1) + 1;
  return text.includes('\n') ? `line ${before.split('\n').length}, column ${col}` : `column ${col}`;
}

/** `filter: <what> at column N[: <why>]`. */
export function errorAt(text: string, pos: number, what: string, why?: string): FilterError {
  return new FilterError(`filter: ${what} at ${location(text, pos)}${why ? `: ${why}` : ''}`, pos);
}

/** How a token is quoted in messages. */
export function describe(t: Token): string {
  return t.kind === 'eof' ? 'end of filter' : `"${t.text}"`;
}

// Addresses, CIDRs, numbers with k/m/g suffixes, ranges ("8000-8080"), flag letters and keywords such as
// "icmp-type" are all one word.
const WORD = /[A-Za-z0-9_.:\-/]/;

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      // A comment runs to the end of the line, as in nfdump filter files.
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    const start = i;
    const two = text.slice(i, i + 2);
    if (two === '&&' || two === '||') {
      out.push({ kind: two === '&&' ? 'and' : 'or', text: two, pos: start });
      i += 2;
      continue;
    }
    if (two === '<=' || two === '>=' || two === '==') {
      out.push({ kind: 'cmp', text: two, pos: start });
      i += 2;
      continue;
    }
    if (c === '<' || c === '>' || c === '=') {
      out.push({ kind: 'cmp', text: c, pos: start });
      i++;
      continue;
    }
    if (c === '!') {
      out.push({ kind: 'not', text: c, pos: start });
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === '[' || c === ']' || c === ',') {
      out.push({ kind: c, text: c, pos: start });
      i++;
      continue;
    }
    if (WORD.test(c)) {
      while (i < text.length && WORD.test(text[i])) i++;
      const word = text.slice(start, i);
      const lower = word.toLowerCase();
      const kind: TokenKind = lower === 'and' ? 'and' : lower === 'or' ? 'or' : lower === 'not' ? 'not' : 'word';
      out.push({ kind, text: word, pos: start });
      continue;
    }
    const hint = c === '&' ? 'expected "&&" or "and"' : c === '|' ? 'expected "||" or "or"' : undefined;
    throw errorAt(text, start, `unexpected character "${c}"`, hint);
  }
  out.push({ kind: 'eof', text: '', pos: text.length });
  return out;
}
