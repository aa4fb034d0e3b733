/**
 * A small Python pickle virtual machine: enough of protocols 0-5 to read what `torch.save`
 * writes (it uses protocol 2) and what numpy / plain Python pickles of containers look like.
 *
 * A pickle is a program for a stack machine. Each opcode is one byte, optionally followed by
 * an inline argument; the machine keeps
 *   - a stack of values,
 *   - a "metastack": MARK pushes the current stack and starts a fresh one, and the opcodes that
 *     consume "everything since the last MARK" (TUPLE, SETITEMS, APPENDS, ...) pop it back,
 *   - a memo (index -> value) written by PUT/BINPUT/MEMOIZE and read by GET/BINGET, which is how
 *     pickle shares one object between several places.
 * STOP ends the program; the value on top of the stack is the result.
 *
 * How Python values map to JavaScript:
 *   None -> null; bool -> boolean; int -> number (bigint when outside ±2^53); float -> number;
 *   str -> string; bytes / bytearray -> Uint8Array; list and tuple -> Array (tuples are frozen);
 *   dict and collections.OrderedDict -> Map (insertion order is kept, as in Python);
 *   set / frozenset -> Set.
 * Classes and functions (GLOBAL / STACK_GLOBAL) are resolved by the caller's `findClass`;
 * a resolved value that is a JS function is "callable" (REDUCE, NEWOBJ call it with the
 * pickled arguments). Persistent ids (PERSID / BINPERSID), which torch uses to refer to tensor
 * storages kept outside the pickle, are resolved by the caller's `persistentLoad`.
 *
 * Anything unsupported (an unknown opcode, a global that `findClass` does not know, data that
 * ends too early) throws a `PickleError` that names the opcode or global and the byte offset.
 */

/** Thrown for every problem found while unpickling. `offset` is an absolute byte offset. */
export class PickleError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    /**
     * 'truncated': the data ended before the pickle did; 'unsupported': an opcode or global this
     * VM (or the caller's findClass) does not handle; 'malformed': anything else.
     */
    readonly code: 'truncated' | 'unsupported' | 'malformed' = 'malformed',
  ) {
    super(message);
    this.name = 'PickleError';
  }

  /** True when the data ended before the pickle did. */
  get truncated(): boolean {
    return this.code === 'truncated';
  }
}

/** Resolves `module.name` (GLOBAL / STACK_GLOBAL) to a value; return undefined if unknown. */
export type FindClass = (module: string, name: string) => unknown;
/** Resolves a persistent id (the pickled object that PERSID / BINPERSID refer to). */
export type PersistentLoad = (pid: unknown) => unknown;

export interface UnpickleOptions {
  /** Resolver for globals; defaults to `standardGlobals` (OrderedDict, set, _codecs.encode ...). */
  findClass?: FindClass;
  /** Resolver for persistent ids; without one a PERSID/BINPERSID opcode is an error. */
  persistentLoad?: PersistentLoad;
  /** Byte offset at which the pickle starts (several pickles can follow each other). */
  offset?: number;
}

export interface UnpickleResult {
  value: unknown;
  /** Byte offset just after the STOP opcode. */
  end: number;
}

/**
 * Attributes that BUILD set on a value that has no place of its own for them (e.g. the
 * `_metadata` attribute of a PyTorch state_dict, which is an OrderedDict): they are kept in a
 * Map under this symbol. Read them with `pyAttributes(value)`.
 */
export const PY_ATTRIBUTES: unique symbol = Symbol('pyAttributes');

export function pyAttributes(value: unknown): Map<unknown, unknown> | undefined {
  if (value !== null && typeof value === 'object') {
    return (value as { [PY_ATTRIBUTES]?: Map<unknown, unknown> })[PY_ATTRIBUTES];
  }
  return undefined;
}

/**
 * A generic Python object: what `genericClass(module, name)` produces when it is called
 * (REDUCE / NEWOBJ). `args` are the constructor arguments, `state` what BUILD set.
 */
export class PyObject {
  state: unknown = undefined;
  constructor(
    readonly module: string,
    readonly name: string,
    readonly args: readonly unknown[],
  ) {}
}

/**
 * A callable stand-in for an arbitrary Python class: calling it returns a `PyObject` that
 * records the arguments. Useful in a `findClass` that wants to tolerate unknown classes.
 */
export function genericClass(module: string, name: string): (...args: unknown[]) => PyObject {
  const ctor = (...args: unknown[]): PyObject => new PyObject(module, name, args);
  Object.defineProperty(ctor, 'name', { value: `${module}.${name}` });
  return ctor;
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

/**
 * The globals that plain container pickles need. Returns undefined for anything else.
 *  - collections.OrderedDict, builtins.dict -> Map
 *  - builtins.set / frozenset -> Set, builtins.list / tuple -> Array
 *  - builtins.bytearray, builtins.bytes, _codecs.encode (protocol 2 pickles bytes this way)
 */
export function standardGlobals(module: string, name: string): unknown {
  const key = `${module}.${name}`;
  switch (key) {
    case 'collections.OrderedDict':
    case 'builtins.dict':
    case '__builtin__.dict':
      return (items?: unknown) => {
        const m = new Map<unknown, unknown>();
        if (Array.isArray(items)) for (const kv of items) m.set((kv as unknown[])[0], (kv as unknown[])[1]);
        else if (items instanceof Map) for (const [k, v] of items) m.set(k, v);
        return m;
      };
    case 'builtins.set':
    case 'builtins.frozenset':
    case '__builtin__.set':
    case '__builtin__.frozenset':
      return (items?: unknown) => new Set(Array.isArray(items) ? items : []);
    case 'builtins.list':
    case 'builtins.tuple':
      return (items?: unknown) => (Array.isArray(items) ? [...items] : []);
    case 'builtins.bytearray':
    case 'builtins.bytes':
    case '__builtin__.bytearray':
      return (src?: unknown, encoding?: unknown) => toBytes(src, encoding);
    case '_codecs.encode':
      return (src: unknown, encoding?: unknown) => toBytes(src, encoding ?? 'utf-8');
    default:
      return undefined;
  }
}

function toBytes(src: unknown, encoding: unknown): Uint8Array {
  if (src === undefined) return new Uint8Array(0);
  if (src instanceof Uint8Array) return src.slice();
  if (Array.isArray(src)) return Uint8Array.from(src as number[]);
  if (typeof src === 'string') {
    const enc = String(encoding ?? 'utf-8').toLowerCase();
    if (enc === 'latin1' || enc === 'latin-1' || enc === 'iso-8859-1') {
      const out = new Uint8Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = src.charCodeAt(i) & 0xff;
      return out;
    }
    return new TextEncoder().encode(src);
  }
  throw new Error(`cannot convert ${typeof src} to bytes`);
}

/** Opcode names, for error messages. */
const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT',
  0x49: 'INT', 0x4a: 'BININT', 0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE',
  0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD',
  0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET',
  0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT',
  0x71: 'BINPUT', 0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE',
  0x75: 'SETITEMS', 0x47: 'BINFLOAT', 0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2',
  0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE',
  0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE',
  0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

export function opcodeName(op: number): string {
  return OPCODE_NAMES[op] ?? `0x${op.toString(16).padStart(2, '0')}`;
}

/** Little-endian two's-complement integer of `bytes` (LONG1 / LONG4 payload). */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return normaliseInt(v);
}

function normaliseInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (typeof v === 'function') return `callable ${v.name || '(anonymous)'}`;
  if (Array.isArray(v)) return `tuple/list of length ${v.length}`;
  if (v instanceof Map) return 'dict';
  if (v instanceof PyObject) return `${v.module}.${v.name} object`;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return `${typeof v} ${String(v)}`;
}

/**
 * Runs one pickle starting at `options.offset` (default 0) of `data` and returns the value and
 * the offset just after its STOP opcode.
 */
export function unpickle(data: Uint8Array, options: UnpickleOptions = {}): UnpickleResult {
  const findClass = options.findClass ?? standardGlobals;
  const persistentLoad = options.persistentLoad;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const len = data.length;
  let pos = options.offset ?? 0;

  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();
  let opStart = pos; // offset of the opcode being executed, for error messages
  let op = 0;

  const fail = (msg: string): never => {
    throw new PickleError(`${msg} (opcode ${opcodeName(op)} at byte ${opStart})`, opStart);
  };
  const need = (n: number): void => {
    if (n < 0 || pos + n > len) {
      throw new PickleError(
        `pickle data ends at byte ${len} while reading opcode ${opcodeName(op)} at byte ${opStart} ` +
          `(needs ${n} more bytes at byte ${pos})`,
        opStart,
        'truncated',
      );
    }
  };
  const u8 = (): number => { need(1); return data[pos++]!; };
  const u16 = (): number => { need(2); const v = view.getUint16(pos, true); pos += 2; return v; };
  const u32 = (): number => { need(4); const v = view.getUint32(pos, true); pos += 4; return v; };
  const i32 = (): number => { need(4); const v = view.getInt32(pos, true); pos += 4; return v; };
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} is too large`);
    return Number(v);
  };
  const bytes = (n: number): Uint8Array => { need(n); const b = data.subarray(pos, pos + n); pos += n; return b; };
  /** A text line ending in '\n' (protocol 0 arguments), without the newline. */
  const line = (): string => {
    const nl = data.indexOf(0x0a, pos);
    if (nl < 0) need(len - pos + 1);
    const s = latin1.decode(data.subarray(pos, nl));
    pos = nl + 1;
    return s;
  };

  const pop = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  /** Pops everything pushed since the last MARK, and restores the stack below the MARK. */
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (prev === undefined) fail('no MARK on the stack');
    stack = prev!;
    return items;
  };
  const memoGet = (idx: number): unknown => {
    if (!memo.has(idx)) fail(`memo key ${idx} was never stored`);
    return memo.get(idx);
  };
  const resolveGlobal = (module: string, name: string): unknown => {
    let v: unknown;
    try {
      v = findClass(module, name);
    } catch (e) {
      fail(`cannot resolve global ${module}.${name}: ${(e as Error).message}`);
    }
    if (v === undefined) {
      throw new PickleError(`unsupported global ${module}.${name} (opcode ${opcodeName(op)} at byte ${opStart})`, opStart, 'unsupported');
    }
    return v;
  };
  const call = (fn: unknown, args: unknown, what: string): unknown => {
    if (typeof fn !== 'function') fail(`${what}: ${describe(fn)} is not callable`);
    if (!Array.isArray(args)) fail(`${what}: arguments are ${describe(args)}, not a tuple`);
    try {
      return (fn as (...a: unknown[]) => unknown)(...(args as unknown[]));
    } catch (e) {
      if (e instanceof PickleError) throw e;
      return fail(`${what} of ${describe(fn)} failed: ${(e as Error).message}`);
    }
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (items.length % 2 !== 0) fail('odd number of items for a dict');
    if (target instanceof Map) {
      for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
    } else if (target instanceof PyObject) {
      // A dict subclass we do not model: keep the items as its state.
      const m = target.state instanceof Map ? target.state : new Map<unknown, unknown>();
      for (let i = 0; i < items.length; i += 2) m.set(items[i], items[i + 1]);
      target.state = m;
    } else {
      fail(`cannot set items on ${describe(target)}`);
    }
  };
  const appendItems = (target: unknown, items: unknown[]): void => {
    if (Array.isArray(target)) target.push(...items);
    else if (target instanceof Set) for (const x of items) target.add(x);
    else fail(`cannot append to ${describe(target)}`);
  };
  const tuple = (items: unknown[]): unknown[] => Object.freeze(items) as unknown[];

  for (;;) {
    opStart = pos;
    if (pos >= len) {
      op = 0;
      throw new PickleError(`pickle data ends at byte ${len} before its STOP opcode`, pos, 'truncated');
    }
    op = data[pos++]!;
    switch (op) {
      // ---- framing and protocol ----
      case 0x80: // PROTO <u8>: protocol version; informative only
        if (u8() > 5) fail('protocol newer than 5');
        break;
      case 0x95: // FRAME <u64>: length of the following frame; frames are an I/O hint only
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length === 0) fail('empty stack at STOP');
        return { value: stack[stack.length - 1], end: pos };

      // ---- stack manipulation ----
      case 0x28: // MARK
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;

      // ---- constants ----
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE

      // ---- integers ----
      case 0x4a: stack.push(i32()); break; // BININT: signed 4-byte
      case 0x4b: stack.push(u8()); break; // BININT1: unsigned 1-byte
      case 0x4d: stack.push(u16()); break; // BININT2: unsigned 2-byte
      case 0x8a: stack.push(decodeLong(bytes(u8()))); break; // LONG1: n<256 bytes, 2's complement LE
      case 0x8b: { // LONG4
        const n = i32();
        if (n < 0) fail('negative length');
        stack.push(decodeLong(bytes(n)));
        break;
      }
      case 0x49: { // INT (protocol 0): decimal text; "00"/"01" mean False/True
        const s = line();
        if (s === '00') stack.push(false);
        else if (s === '01') stack.push(true);
        else {
          if (!/^[-+]?\d+$/.test(s)) fail(`bad INT literal ${JSON.stringify(s)}`);
          stack.push(normaliseInt(BigInt(s)));
        }
        break;
      }
      case 0x4c: { // LONG (protocol 0): decimal text with optional trailing 'L'
        const s = line().replace(/L$/, '');
        if (!/^[-+]?\d+$/.test(s)) fail(`bad LONG literal ${JSON.stringify(s)}`);
        stack.push(normaliseInt(BigInt(s)));
        break;
      }

      // ---- floats ----
      case 0x47: // BINFLOAT: 8-byte big-endian IEEE double
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x46: { // FLOAT (protocol 0): repr text
        const s = line();
        const v = Number(s);
        if (Number.isNaN(v) && !/nan/i.test(s)) fail(`bad FLOAT literal ${JSON.stringify(s)}`);
        stack.push(v);
        break;
      }

      // ---- strings and bytes ----
      case 0x58: stack.push(utf8.decode(bytes(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(utf8.decode(bytes(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(utf8.decode(bytes(u64()))); break; // BINUNICODE8
      // BINSTRING / SHORT_BINSTRING are Python 2 str; torch.load decodes them as utf-8.
      case 0x54: { // BINSTRING
        const n = i32();
        if (n < 0) fail('negative length');
        stack.push(utf8.decode(bytes(n)));
        break;
      }
      case 0x55: stack.push(utf8.decode(bytes(u8()))); break; // SHORT_BINSTRING
      case 0x42: stack.push(bytes(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(bytes(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: stack.push(bytes(u64()).slice()); break; // BINBYTES8
      case 0x96: stack.push(bytes(u64()).slice()); break; // BYTEARRAY8

      // ---- containers ----
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push(tuple([])); break; // EMPTY_TUPLE
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x85: { const a = pop(); stack.push(tuple([a])); break; } // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(tuple([a, b])); break; } // TUPLE2
      case 0x87: { // TUPLE3
        const c = pop(); const b = pop(); const a = pop();
        stack.push(tuple([a, b, c]));
        break;
      }
      case 0x74: { const items = popMark(); stack.push(tuple(items)); break; } // TUPLE: items since MARK
      case 0x6c: { const items = popMark(); stack.push(items); break; } // LIST: items since MARK
      case 0x64: { // DICT: key/value pairs since MARK
        const m = new Map<unknown, unknown>();
        setItems(m, popMark());
        stack.push(m);
        break;
      }
      case 0x91: { const items = popMark(); stack.push(new Set(items)); break; } // FROZENSET
      case 0x73: { // SETITEM: dict[key] = value
        const v = pop(); const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS: key/value pairs since MARK into the dict below the MARK
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: { const v = pop(); appendItems(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS
      case 0x90: { const items = popMark(); appendItems(top(), items); break; } // ADDITEMS (sets)

      // ---- memo ----
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE: next free index
      case 0x70: { // PUT (protocol 0)
        const s = line();
        if (!/^\d+$/.test(s)) fail(`bad PUT index ${JSON.stringify(s)}`);
        memo.set(Number(s), top());
        break;
      }
      case 0x68: stack.push(memoGet(u8())); break; // BINGET
      case 0x6a: stack.push(memoGet(u32())); break; // LONG_BINGET
      case 0x67: { // GET (protocol 0)
        const s = line();
        if (!/^\d+$/.test(s)) fail(`bad GET index ${JSON.stringify(s)}`);
        stack.push(memoGet(Number(s)));
        break;
      }

      // ---- globals, calls and object construction ----
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL: module and name strings from the stack
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('module and name must be strings');
        stack.push(resolveGlobal(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE: callable(*args)
        const args = pop();
        const fn = pop();
        stack.push(call(fn, args, 'REDUCE'));
        break;
      }
      case 0x81: { // NEWOBJ: cls.__new__(cls, *args); we treat the class as a callable
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args, 'NEWOBJ'));
        break;
      }
      case 0x92: { // NEWOBJ_EX: cls, args, kwargs (kwargs passed as a trailing Map when non-empty)
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        const all = Array.isArray(args) ? [...args] : args;
        if (kwargs instanceof Map && kwargs.size > 0 && Array.isArray(all)) all.push(kwargs);
        stack.push(call(cls, all, 'NEWOBJ_EX'));
        break;
      }
      case 0x6f: { // OBJ: MARK cls args... -> cls(*args)
        const items = popMark();
        if (items.length === 0) fail('OBJ without a class');
        stack.push(call(items[0], items.slice(1), 'OBJ'));
        break;
      }
      case 0x69: { // INST "module\nname\n": MARK args... -> cls(*args)
        const module = line();
        const name = line();
        const cls = resolveGlobal(module, name);
        const args = popMark();
        stack.push(call(cls, args, 'INST'));
        break;
      }
      case 0x62: { // BUILD: obj.__setstate__(state) or obj.__dict__.update(state)
        const state = pop();
        const obj = top();
        build(obj, state, fail);
        break;
      }

      // ---- persistent ids (references to data outside the pickle) ----
      case 0x51: { // BINPERSID: pid from the stack
        const pid = pop();
        if (!persistentLoad) fail('persistent id found but no persistent_load given');
        try {
          stack.push(persistentLoad!(pid));
        } catch (e) {
          if (e instanceof PickleError) throw e;
          fail(`persistent_load failed: ${(e as Error).message}`);
        }
        break;
      }
      case 0x50: { // PERSID: pid as a text line
        const pid = line();
        if (!persistentLoad) fail('persistent id found but no persistent_load given');
        try {
          stack.push(persistentLoad!(pid));
        } catch (e) {
          if (e instanceof PickleError) throw e;
          fail(`persistent_load failed: ${(e as Error).message}`);
        }
        break;
      }

      default:
        // STRING, UNICODE (protocol 0 quoted text), EXT1/2/4 (extension registry) and the
        // protocol-5 out-of-band buffers (NEXT_BUFFER, READONLY_BUFFER) are not supported.
        throw new PickleError(`unsupported pickle opcode ${opcodeName(op)} at byte ${opStart}`, opStart, 'unsupported');
    }
  }
}

/** BUILD semantics for the value kinds this VM creates. */
function build(obj: unknown, state: unknown, fail: (msg: string) => never): void {
  if (obj !== null && typeof obj === 'object' && typeof (obj as { __setstate__?: unknown }).__setstate__ === 'function') {
    (obj as { __setstate__: (s: unknown) => void }).__setstate__(state);
    return;
  }
  if (obj instanceof PyObject) {
    obj.state = state;
    return;
  }
  // state is a dict, or a (dict | None, slots dict) pair.
  let dict: unknown = state;
  let slots: unknown = null;
  if (Array.isArray(state) && state.length === 2) [dict, slots] = state;
  if (obj instanceof Map || Array.isArray(obj) || obj instanceof Set) {
    const attrs = pyAttributes(obj) ?? new Map<unknown, unknown>();
    for (const part of [dict, slots]) {
      if (part instanceof Map) for (const [k, v] of part) attrs.set(k, v);
      else if (part !== null) fail(`BUILD state is ${describe(part)}, not a dict`);
    }
    Object.defineProperty(obj, PY_ATTRIBUTES, { value: attrs, enumerable: false, configurable: true });
    return;
  }
  if (obj !== null && typeof obj === 'object') {
    for (const part of [dict, slots]) {
      if (part instanceof Map) {
        for (const [k, v] of part) (obj as Record<string, unknown>)[String(k)] = v;
      } else if (part !== null) fail(`BUILD state is ${describe(part)}, not a dict`);
    }
    return;
  }
  fail(`cannot BUILD ${describe(obj)}`);
}
