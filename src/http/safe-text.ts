const EXCERPT_LENGTH = 200;

/**
 * Server-provided text made safe to print: `secret` replaced by `***`, then at most 200
 * characters, scripts, styles and tags stripped, whitespace collapsed. Scrubbed before it is cut:
 * a secret cut in half by the excerpt would no longer be recognised.
 */
export function safeExcerpt(text: string, secret: string): string {
  return excerptOf(secret === '' ? text : text.split(secret).join('***'));
}

function excerptOf(text: string): string {
  const flat = text
    .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length <= EXCERPT_LENGTH ? flat : `${flat.slice(0, EXCERPT_LENGTH - 1)}…`;
}
