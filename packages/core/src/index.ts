/**
 * @pulse/core: what server and client share. Model definitions and validation, the error
 * table, and (with the sync issue) protocol types, clocks, cursors and merge policies.
 * Nothing here imports from Node.
 */

export { type CursorPosition, decodeCursor, decodeCursorParts, encodeCursor } from './cursor.ts'
export { DEFAULT_DIFF_BUDGET, type DiffBudget, type DiffHunk, diffSequences } from './diff-sequences.ts'
export { ClientAction, ERROR_CODES, type ErrorBody, type ErrorCode, type FieldIssue, isPulseError, PulseError } from './errors.ts'
export { compareDecimals, compareFieldValues, isDecimalString, isOrderedValue } from './field-order.ts'
export {
  type CommonOptions,
  type CustomMerge,
  type DecimalOptions,
  FIELD_KINDS,
  type Field,
  type FieldKind,
  type FieldSpec,
  f,
  type IntegerOptions,
  MERGE_POLICIES,
  type MergeContext,
  type MergePolicyName,
  type MergeSpec,
  type StringOptions,
} from './fields.ts'
export {
  clampAt,
  compareHlc,
  createHlc,
  formatHlc,
  HLC_MAX_COUNTER,
  type Hlc,
  type HlcTimestamp,
  parseHlc,
} from './hlc.ts'
export { uuidv7 } from './id.ts'
export { type FieldConflict, type FieldResolution, resolveField } from './merge-field.ts'
export { mergeSets, type SetInput } from './merge-set.ts'
export { type MergeTextResult, mergeText, tokenizeText } from './merge-text.ts'
export {
  type AccessRule,
  type AccessRules,
  type Caller,
  CLIENT_FIELDS,
  type CreateInput,
  defineModel,
  defineSchema,
  type FieldsShape,
  type FieldValues,
  type ModelDefinition,
  type ModelOptions,
  RESERVED_FIELD_NAMES,
  RESERVED_PLURALS,
  type RecordOf,
  type Schema,
  type ScopeKind,
  SYSTEM_FIELDS,
  type SystemFields,
  type UpdateInput,
  type WireRecord,
} from './model.ts'
export {
  type Change,
  type ClientMessage,
  type Conflict,
  DEFAULT_PULL_LIMIT,
  isClientId,
  isRequestId,
  MAX_PULL_LIMIT,
  MAX_PUSH_MUTATIONS,
  MAX_REQUEST_ID_LENGTH,
  MIN_PROTOCOL_VERSION,
  type Mutation,
  type MutationOp,
  PROTOCOL_VERSION,
  type PullResponse,
  type PushRequest,
  type PushResponse,
  type PushResult,
  type PushStatus,
  parseClientMessage,
  parseConflict,
  parseMutations,
  parsePullResponse,
  parsePushRequest,
  parsePushResponse,
  parseServerMessage,
  parseWireRecord,
  type ServerMessage,
} from './protocol.ts'
export {
  checkClockText,
  checkFieldValue,
  defaultValue,
  isUuid,
  MAX_JSON_FIELD_CHARS,
  MAX_SET_MEMBER_LENGTH,
  MAX_SET_SIZE,
  normalizeSet,
  textProblem,
  validateCreate,
  validateUpdate,
} from './validate.ts'
export {
  type ClockOrder,
  compareClocks,
  incrementClock,
  isValidClock,
  MAX_CLOCK_ENTRIES,
  MAX_CLOCK_KEY_LENGTH,
  mergeClocks,
  type VectorClock,
} from './vector-clock.ts'
