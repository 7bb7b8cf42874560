// Comma- or space-separated settings (ALLOWED_ORIGINS, REQUIRED_SCOPES, …) as clean lists.

/** Split on commas (and, with `spaces`, whitespace); trims and drops empty items. */
export function parseList(text: string, spaces = false): string[] {
  return text
    .split(spaces ? /[\s,]+/ : ',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
