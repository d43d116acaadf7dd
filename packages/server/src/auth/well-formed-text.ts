/**
 * Text a database can store as given: no NUL (PostgreSQL refuses it in text) and no lone UTF-16
 * surrogate (not Unicode: it cannot be encoded as UTF-8, and would come back as U+FFFD).
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** True when `text` holds neither a NUL nor a lone surrogate. */
export function isWellFormedText(text: string): boolean {
  return !text.includes('\0') && !LONE_SURROGATE.test(text)
}
