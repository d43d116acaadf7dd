/**
 * Field types of a model definition. Each builder returns a plain, serialisable description
 * of the field plus, at the type level, the TypeScript type of its value on the wire, so a
 * record's type is inferred from its definition (`RecordOf<typeof task>`).
 */

/** The merge policies of PROTOCOL.md §5. */
export const MERGE_POLICIES = ['lww', 'serverWins', 'clientWins', 'max', 'min', 'union', 'text', 'state', 'manual'] as const
export type MergePolicyName = (typeof MERGE_POLICIES)[number]

/** What a custom merge function is told about the conflict it settles. */
export interface MergeContext {
  readonly model: string
  readonly field: string
  readonly recordId: string
  /** `at` of the server's last change to the field and of the incoming edit (ISO strings). */
  readonly serverAt: string
  readonly clientAt: string
  readonly serverDeviceId: string
  readonly clientDeviceId: string
}

/** A server-side merge function: `(base, server, client, ctx) => value`. */
export type CustomMerge = (base: unknown, server: unknown, client: unknown, ctx: MergeContext) => unknown

/** A field's merge policy: a name, a name with options, or a custom function. */
export type MergeSpec =
  | MergePolicyName
  | { readonly policy: 'text'; readonly fallback?: Exclude<MergePolicyName, 'text'> }
  | { readonly policy: 'state'; readonly order?: readonly string[] }
  | CustomMerge

/** The kinds of field. */
export const FIELD_KINDS = [
  'string',
  'text',
  'boolean',
  'integer',
  'decimal',
  'datetime',
  'date',
  'enum',
  'json',
  'set',
  'ref',
  'owner',
  'org',
] as const
export type FieldKind = (typeof FIELD_KINDS)[number]

/** Options every field accepts. */
export interface CommonOptions<T> {
  /** `null` is a valid value. A nullable field without a default starts as `null`. */
  readonly nullable?: boolean
  /** The value a create gets when it leaves the field out. A function is called per create. */
  readonly default?: T | (() => T)
  /** The field must be present on create. Defaults to: not nullable and no default. */
  readonly required?: boolean
  /** How concurrent edits of this field are settled (PROTOCOL.md §5). Default `lww`. */
  readonly merge?: MergeSpec
  /** Shown in the OpenAPI document. */
  readonly description?: string
}

/** The runtime description of one field. */
export interface FieldSpec {
  readonly kind: FieldKind
  readonly nullable: boolean
  readonly required: boolean
  readonly default?: unknown
  readonly merge: MergeSpec
  readonly description?: string
  /** string: maximum length in characters. */
  readonly maxLength?: number
  /** integer: bounds. */
  readonly min?: number
  readonly max?: number
  /** decimal: total digits and digits after the point. */
  readonly precision?: number
  readonly scale?: number
  /** enum: the allowed values, in their declared order (the `state` policy's order). */
  readonly values?: readonly string[]
  /** ref: the referenced model's name. */
  readonly model?: string
}

/**
 * A field: its runtime spec, with phantom type parameters for the value type (`T`) and for
 * whether a create may leave it out (`O`).
 */
export interface Field<T, O extends boolean = boolean> {
  readonly spec: FieldSpec
  /** Type-level only. */
  readonly __type?: T
  readonly __optional?: O
}

type ValueOf<T, Opts> = Opts extends { nullable: true } ? T | null : T
type OptionalOf<Opts> = Opts extends { required: true }
  ? false
  : Opts extends { default: unknown }
    ? true
    : Opts extends { nullable: true }
      ? true
      : false

type Built<T, Opts> = Field<ValueOf<T, Opts>, OptionalOf<Opts>>

function build(kind: FieldKind, opts: CommonOptions<unknown> | undefined, extra: Partial<FieldSpec> = {}): FieldSpec {
  const nullable = opts?.nullable === true
  const hasDefault = opts !== undefined && 'default' in opts && opts.default !== undefined
  const spec: FieldSpec = {
    kind,
    nullable,
    required: opts?.required ?? (!nullable && !hasDefault),
    merge: opts?.merge ?? 'lww',
    ...(hasDefault ? { default: opts.default } : {}),
    ...(opts?.description ? { description: opts.description } : {}),
    ...extra,
  }
  return spec
}

function field<T, Opts>(spec: FieldSpec): Built<T, Opts> {
  return { spec }
}

export interface StringOptions extends CommonOptions<string> {
  /** Maximum length in characters (default 255). */
  readonly max?: number
}
export interface IntegerOptions extends CommonOptions<number> {
  readonly min?: number
  readonly max?: number
}
export interface DecimalOptions extends CommonOptions<string> {
  /** Total number of digits (default 10). */
  readonly precision?: number
  /** Digits after the decimal point (default 2). */
  readonly scale?: number
}

/** Builders for every field kind. */
export const f = {
  /** A short string, at most `max` characters (default 255). */
  string<const O extends StringOptions>(opts?: O): Built<string, O> {
    return field(build('string', opts, { maxLength: opts?.max ?? 255 }))
  },
  /** Long text with no length limit; the `text` merge policy suits it. */
  text<const O extends CommonOptions<string>>(opts?: O): Built<string, O> {
    return field(build('text', opts))
  },
  boolean<const O extends CommonOptions<boolean>>(opts?: O): Built<boolean, O> {
    return field(build('boolean', opts))
  },
  /** A safe integer, optionally bounded. */
  integer<const O extends IntegerOptions>(opts?: O): Built<number, O> {
    return field(
      build('integer', opts, {
        ...(opts?.min !== undefined ? { min: opts.min } : {}),
        ...(opts?.max !== undefined ? { max: opts.max } : {}),
      }),
    )
  },
  /** An exact decimal, a string on the wire (`"12.50"`), never a float. */
  decimal<const O extends DecimalOptions>(opts?: O): Built<string, O> {
    return field(build('decimal', opts, { precision: opts?.precision ?? 10, scale: opts?.scale ?? 2 }))
  },
  /** A moment in time: an ISO-8601 string, normalised to UTC (`2026-11-23T10:00:00.000Z`). */
  datetime<const O extends CommonOptions<string>>(opts?: O): Built<string, O> {
    return field(build('datetime', opts))
  },
  /** A calendar date: `YYYY-MM-DD`. */
  date<const O extends CommonOptions<string>>(opts?: O): Built<string, O> {
    return field(build('date', opts))
  },
  /** One of a fixed list of strings, in order (the `state` policy uses the order). */
  enum<const V extends readonly [string, ...string[]], const O extends CommonOptions<V[number]>>(values: V, opts?: O): Built<V[number], O> {
    return field(build('enum', opts, { values: [...values] }))
  },
  /** Any JSON value. */
  json<T = unknown, const O extends CommonOptions<T> = CommonOptions<T>>(opts?: O): Built<T, O> {
    return field(build('json', opts))
  },
  /** A set of strings, an array on the wire, kept sorted and without repeats. */
  set<const O extends CommonOptions<string[]>>(opts?: O): Built<string[], O> {
    return field(build('set', opts))
  },
  /** The id of a record of another model. */
  ref<const O extends CommonOptions<string>>(model: string, opts?: O): Built<string, O> {
    return field(build('ref', opts, { model }))
  },
  /**
   * The owning user's id: a model with an owner field syncs to that user only (§8). A create
   * may leave it out: the caller's user id fills it.
   */
  owner<const O extends CommonOptions<string>>(opts?: O): Field<ValueOf<string, O>, true> {
    return { spec: build('owner', opts) }
  },
  /**
   * The organization's id: a model with an org field syncs to that organization's members
   * (§8). A create may leave it out when the caller belongs to exactly one organization.
   */
  org<const O extends CommonOptions<string>>(opts?: O): Field<ValueOf<string, O>, true> {
    return { spec: build('org', opts) }
  },
} as const
