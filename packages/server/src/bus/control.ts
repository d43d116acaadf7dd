/**
 * The bus's control channel: changes of who may see what, which every
 * process must act on at once, beside the commits. A process holding an open socket whose
 * credential or scope a message touches sends it `error` and closes it (PROTOCOL.md §6, §9);
 * the client reconnects, and its hello is checked against the state after the change.
 */

/** One access change. */
export type ControlMessage =
  /**
   * These users' memberships changed (joined, left, removed, created or lost an organization);
   * `epochs[i]`, when given, is `userIds[i]`'s scope epoch after the change: a socket that
   * authenticated at that epoch or later already has the new scope.
   */
  | { type: 'membership_changed'; userIds: string[]; epochs?: number[] }
  /** Every session of this device ended (logout, a replayed refresh token, the device removed). */
  | { type: 'session_ended'; userId: string; deviceId: string }
  /** This API token was revoked (by the CLI, or with its organization). */
  | { type: 'api_token_revoked'; tokenId: string }

/** Most user ids one `membership_changed` message carries; publishers split larger changes. */
export const MAX_CONTROL_USER_IDS = 1000

const isId = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= 200

/** True when `value` (e.g. a payload parsed from another process) is a well-formed control message. */
export function isControlMessage(value: unknown): value is ControlMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const m = value as Record<string, unknown>
  switch (m.type) {
    case 'membership_changed':
      return (
        Array.isArray(m.userIds) &&
        m.userIds.length > 0 &&
        m.userIds.length <= MAX_CONTROL_USER_IDS &&
        m.userIds.every(isId) &&
        (m.epochs === undefined ||
          (Array.isArray(m.epochs) && m.epochs.length === m.userIds.length && m.epochs.every((e) => Number.isSafeInteger(e) && e >= 0)))
      )
    case 'session_ended':
      return isId(m.userId) && isId(m.deviceId)
    case 'api_token_revoked':
      return isId(m.tokenId)
    default:
      return false
  }
}
