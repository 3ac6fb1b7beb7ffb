// BERT's WordPiece tokenizer, read from a model's own tokenizer.json: the same ids the
// Python tokenizers library gives (BertNormalizer, BertPreTokenizer, WordPiece), with
// no special tokens added. tests/test_explorer.py checks it against them on SciFact.

const CJK = [
  [0x4e00, 0x9fff], [0x3400, 0x4dbf], [0x20000, 0x2a6df], [0x2a700, 0x2b73f],
  [0x2b740, 0x2b81f], [0x2b820, 0x2ceaf], [0xf900, 0xfaff], [0x2f800, 0x2fa1f],
];
const ASCII_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

const isCJK = (cp) => CJK.some(([lo, hi]) => cp >= lo && cp <= hi);
const isPunctuation = (ch) => ASCII_PUNCTUATION.includes(ch) || /\p{P}/u.test(ch);
const isWhitespace = (ch) => /[\t\n\r]/.test(ch) || /\p{Zs}/u.test(ch);
const isControl = (ch) => !/[\t\n\r]/.test(ch) && /\p{C}/u.test(ch);

export class WordPiece {
  constructor(tokenizerJson) {
    const { normalizer, model } = tokenizerJson;
    if (normalizer?.type !== "BertNormalizer" || model?.type !== "WordPiece") {
      throw new Error("expected a BERT tokenizer.json (BertNormalizer and WordPiece)");
    }
    this.lowercase = normalizer.lowercase;
    this.stripAccents = normalizer.strip_accents ?? normalizer.lowercase;
    this.vocab = new Map(Object.entries(model.vocab));
    this.tokens = [];
    for (const [token, id] of this.vocab) this.tokens[id] = token;
    this.prefix = model.continuing_subword_prefix;
    this.maxChars = model.max_input_chars_per_word;
    this.unk = this.vocab.get(model.unk_token);
  }

  normalize(text) {
    let out = "";
    for (const ch of text) {
      const cp = ch.codePointAt(0);
      if (cp === 0 || cp === 0xfffd || isControl(ch)) continue;
      if (isWhitespace(ch)) out += " ";
      else if (isCJK(cp)) out += ` ${ch} `;
      else out += ch;
    }
    if (this.stripAccents) out = out.normalize("NFD").replace(/\p{Mn}/gu, "");
    // one character at a time, as the Rust tokenizers do (a final Σ becomes σ, not ς)
    return this.lowercase ? Array.from(out, (ch) => ch.toLowerCase()).join("") : out;
  }

  words(text) {
    const words = [];
    let word = "";
    for (const ch of this.normalize(text)) {
      if (/\s/u.test(ch) || isPunctuation(ch)) {
        if (word) words.push(word);
        word = "";
        if (isPunctuation(ch)) words.push(ch);
      } else word += ch;
    }
    if (word) words.push(word);
    return words;
  }

  // Greedy longest match, left to right; a word with no full cover is one [UNK].
  encode(text) {
    const ids = [];
    for (const word of this.words(text)) {
      const chars = Array.from(word);
      if (chars.length > this.maxChars) { ids.push(this.unk); continue; }
      const pieces = [];
      let start = 0;
      while (start < chars.length) {
        let end = chars.length;
        let id;
        while (end > start) {
          const piece = (start > 0 ? this.prefix : "") + chars.slice(start, end).join("");
          id = this.vocab.get(piece);
          if (id !== undefined) break;
          end -= 1;
        }
        if (end === start) { pieces.length = 0; pieces.push(this.unk); break; }
        pieces.push(id);
        start = end;
      }
      ids.push(...pieces);
    }
    return ids;
  }
}
