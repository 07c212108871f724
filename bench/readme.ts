// The README's benchmark tables sit between marker comments, so a suite run with --write replaces
// its own table and nothing else.

/** The text between `<!-- bench:KEY -->` and `<!-- /bench:KEY -->` replaced with `content`. */
export function replaceReadmeBlock(readme: string, key: string, content: string): string {
  const open = `<!-- bench:${key} -->`;
  const close = `<!-- /bench:${key} -->`;
  const start = readme.indexOf(open);
  const end = readme.indexOf(close);
  if (start < 0 || end < start) throw new Error(`README.md has no ${open} … ${close} block for these results`);
  return `${readme.slice(0, start + open.length)}\n${content.trim()}\n${readme.slice(end)}`;
}
