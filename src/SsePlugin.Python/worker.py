"""SsePlugin's Python worker: runs the scripts of Qlik's script functions, one call per process.

`worker.py serve SOCKET TEMP_BYTES` (Linux, macOS) imports numpy and pandas once, listens on the Unix socket and
forks a fresh child for every connection, which runs one call and ends: no call sees what an earlier one left.
`worker.py once` (Windows, which cannot fork) runs one call over its standard input and output, then ends.

A call, little-endian: the child sends its process id (int32); the host sends a header (uint32 length, UTF-8 JSON:
script, aggregation, returns, params [{name, type}], rows, memory, processes, user), then each parameter's column:
numbers as rows float64, texts as rows int32 byte lengths and their UTF-8 bytes, a dual both. The child answers a
status byte (0 answer, 1 script error, 2 out of memory, 3 not confined) and a JSON header (uint32 length), then for an
answer each column the same way. Data types are Qlik's: 0 text, 1 number, 2 dual.

With a user (a host running as root), the worker runs as root of a user namespace of its own and each child switches
to that call's user id, with IPC and every folder all accounts may write to (/tmp, /var/tmp, /dev/shm, /run/lock...)
of its own, on one tmpfs of TEMP_BYTES, before it reads the call's data.
"""

import array
import ctypes
import errno
import json
import math
import os
import signal
import struct
import sys
import traceback

TEXT, NUMBER, DUAL = 0, 1, 2
ANSWER, SCRIPT_ERROR, OUT_OF_MEMORY, NOT_CONFINED = 0, 1, 2, 3
CLONE_NEWNS, CLONE_NEWIPC = 0x00020000, 0x08000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x1000, 0x4000, 0x40000
PR_SET_DUMPABLE = 4
# Filesystems of the kernel's own (no folder a call could leave a file in), and /dev/mqueue, mounted anew per call.
KERNEL_FILESYSTEMS = frozenset(('proc', 'sysfs', 'cgroup', 'cgroup2', 'devpts', 'mqueue', 'debugfs', 'tracefs',
                                'securityfs', 'pstore', 'bpf', 'configfs', 'fusectl', 'binfmt_misc', 'autofs'))
# Set by serve: the folders every account may write to (/tmp, /var/tmp, /dev/shm, /run/lock, ...), and how many bytes
# the files of a call in them may take.
SHARED_FOLDERS = ()
TEMP_LIMIT = 0


def _optional(name):
    try:
        return __import__(name)
    except ImportError:
        return _Missing(name)


class _Missing:
    """Stands for a package that is not installed: any use says which one, and how to install it."""

    def __init__(self, name):
        object.__setattr__(self, '_name', name)

    def _fail(self, *args, **kwargs):
        raise ModuleNotFoundError(_install_hint(self._name))

    __getattr__ = __getitem__ = __call__ = __iter__ = _fail


def _install_hint(name):
    return (f"the script needs {name}, which is not installed where SsePlugin runs Python: "
            f"apt install python3-{name}, or pip install {name}")


LIBC = None
numpy = _optional('numpy')
pandas = _optional('pandas')
HAS_NUMPY = not isinstance(numpy, _Missing)
HAS_PANDAS = not isinstance(pandas, _Missing)


class Field:
    """A field of the table description, as Qlik's protobuf FieldDescription offers it to scripts."""

    def __init__(self, name='', dataType=0, tags=()):
        self.name, self.dataType, self.tags = name, dataType, list(tags)


class Fields(list):
    def add(self, name='', dataType=0, tags=()):
        field = Field(name, dataType, tags)
        self.append(field)
        return field


class Table:
    """The table description a script may fill (`table.name`, `table.fields.add(...)`), as Qlik's example offers."""

    def __init__(self):
        self.name, self.fields, self.numberOfRows = '', Fields(), -1


class AnswerError(Exception):
    """An answer Qlik cannot take; its message says what the script returned and what to return instead."""


# Reading and writing.

def read_exact(stream, size):
    buffer = bytearray(size)
    view, done = memoryview(buffer), 0
    while done < size:
        count = stream.readinto(view[done:])
        if not count:
            raise EOFError('the host closed the call')
        done += count
    return buffer


def read_numbers(stream, rows):
    data = read_exact(stream, rows * 8)
    if HAS_NUMPY:
        return numpy.frombuffer(data, dtype='<f8')
    return memoryview(data).cast('d')


def read_texts(stream, rows):
    lengths = memoryview(read_exact(stream, rows * 4)).cast('i')
    blob = bytes(read_exact(stream, sum(lengths)))
    texts, start = [], 0
    for length in lengths:
        texts.append(blob[start:start + length].decode('utf-8', 'replace'))
        start += length
    return texts


def write_frame(stream, status, header):
    data = json.dumps(header).encode('utf-8')
    stream.write(struct.pack('<BI', status, len(data)))
    stream.write(data)


def write_numbers(stream, numbers):
    if HAS_NUMPY and isinstance(numbers, numpy.ndarray):
        stream.write(memoryview(numpy.ascontiguousarray(numbers, dtype='<f8')).cast('B'))
    else:
        stream.write(array.array('d', numbers).tobytes())


def write_texts(stream, texts):
    encoded = [text.encode('utf-8', 'replace') for text in texts]
    stream.write(array.array('i', map(len, encoded)).tobytes())
    stream.write(b''.join(encoded))


# The script's scope.

def scope(code, header, columns):
    """
    What a script sees: args, q, numpy (also as np, as the first versions of Qlik's example named it), pandas and
    table; args and q only built when the script names them.
    """
    names = used_names(code)
    values = {'numpy': numpy, 'np': numpy, 'pandas': pandas, 'table': Table()}
    if 'args' in names:
        values['args'] = [arguments(param['type'], column) for param, column in zip(header['params'], columns)]
    if 'q' in names:
        values['q'] = frame(header['params'], columns)
    return values


def used_names(code):
    names = set(code.co_names)
    for constant in code.co_consts:
        if hasattr(constant, 'co_names'):
            names |= used_names(constant)
    return names


def arguments(data_type, column):
    """
    A parameter as Qlik's FullScriptSupport example gives it, a dual as [numbers, texts]; as numpy arrays, so that
    operators work row by row: numbers over the bytes received, texts as objects (lists without numpy).
    """
    numbers, texts = column
    if numbers is not None and not HAS_NUMPY:
        numbers = numbers.tolist()
    if texts is not None and HAS_NUMPY:
        texts = numpy.array(texts, dtype=object)
    if data_type == NUMBER:
        return numbers
    if data_type == TEXT:
        return texts
    return [numbers, texts]


def frame(params, columns):
    """The data frame q of Qlik's pandas example: a column per parameter, a dual also as name_str and name_num."""
    data = {}
    for param, (numbers, texts) in zip(params, columns):
        name, data_type = param['name'], param['type']
        if data_type == NUMBER:
            data[name] = numbers
        elif data_type == TEXT:
            data[name] = pandas.Series(texts, dtype=object)
        else:
            data[name] = pandas.Series(list(zip(numbers.tolist(), texts)), dtype=object)
            data[name + '_str'] = pandas.Series(texts, dtype=object)
            data[name + '_num'] = numbers
    return pandas.DataFrame(data)


# The answer.

def answer_columns(value, header, values):
    """The script's value as columns: [(name, data type, tags, values)], the table's name, whether it is described."""
    returns = header['returns']
    table = values.get('table')
    described = values.get('tableDescription') is True and isinstance(table, Table)
    if HAS_PANDAS and isinstance(value, pandas.DataFrame):
        raw = [(str(name), kind_of(series), series.to_numpy()) for name, series in value.items()]
        columns = [(name, kind, [], data) for name, kind, data in raw]
        if not described:
            return columns, '', True
    else:
        columns = [('', returns, [], data) for data in raw_columns(value, returns)]
    if not described:
        return columns, '', False
    if len(table.fields) != len(columns):
        raise AnswerError(f'set tableDescription with {len(table.fields)} fields in table, but qResult has '
                          f'{len(columns)} columns; describe one field per column')
    return ([(str(field.name), int(field.dataType), [str(tag) for tag in field.tags], column[3])
             for field, column in zip(table.fields, columns)], str(table.name or ''), True)


def kind_of(series):
    dtype = series.dtype
    return NUMBER if dtype.kind in 'biuf' else TEXT


def raw_columns(value, returns):
    if HAS_PANDAS and isinstance(value, pandas.Series):
        return [value.to_numpy()]
    if HAS_NUMPY and isinstance(value, numpy.ndarray):
        if value.ndim == 0:
            return [[value.item()]]
        if value.ndim == 1:
            return [value]
        if value.ndim == 2:
            return [value[:, j] for j in range(value.shape[1])]
        raise AnswerError(f'returned an array of {value.ndim} dimensions; return one value per row, or rows of '
                          'columns (2 dimensions)')
    if isinstance(value, (str, bytes, tuple)) or not hasattr(value, '__iter__'):
        return [[value]]
    rows = list(value)
    if rows and all(is_row(row, returns) for row in rows):
        widths = {len(row) for row in rows}
        if len(widths) != 1:
            raise AnswerError('returned rows of different lengths; return the same number of columns in each row')
        return [list(column) for column in zip(*rows)]
    return [rows]


def is_row(value, returns):
    if isinstance(value, tuple) and returns == DUAL and len(value) == 2:
        return False
    return isinstance(value, (list, tuple)) or (HAS_NUMPY and isinstance(value, numpy.ndarray))


def as_numbers(data):
    if HAS_NUMPY and isinstance(data, numpy.ndarray) and data.dtype.kind in 'biuf':
        return data.astype('<f8', copy=False)
    numbers = array.array('d')
    for item in data:
        numbers.append(as_number(item))
    return numbers


def as_number(item):
    if item is None:
        return math.nan
    if isinstance(item, tuple):
        return as_number(item[0])
    if isinstance(item, (str, bytes)):
        raise AnswerError(f'returned text ({item!r:.40}), but this function returns numbers; use the Str variant '
                          'of the function, or float()')
    try:
        return float(item)
    except (TypeError, ValueError):
        raise AnswerError(f'returned {type(item).__name__} ({item!r:.40}), which is not a number; return numbers '
                          'or text') from None


def as_texts(data):
    return [as_text(item) for item in data]


def as_text(item):
    if item is None or (isinstance(item, float) and math.isnan(item)):
        return ''
    if isinstance(item, str):
        return item
    if isinstance(item, tuple) and len(item) == 2:
        return as_text(item[1])
    if HAS_NUMPY and isinstance(item, numpy.floating) and numpy.isnan(item):
        return ''
    return str(item)


def write_answer(stream, value, header, values):
    columns, name, described = answer_columns(value, header, values)
    rows = {len(column[3]) for column in columns}
    if len(rows) > 1:
        raise AnswerError('returned columns of different lengths; return the same number of rows in each column')
    encoded = []
    for _, data_type, _, data in columns:
        numbers = as_numbers(data) if data_type != TEXT else None
        texts = as_texts(data) if data_type != NUMBER else None
        encoded.append((numbers, texts))
    write_frame(stream, ANSWER, {
        'rows': rows.pop() if rows else 0,
        'described': described,
        'name': name,
        'columns': [{'name': column[0], 'type': column[1], 'tags': column[2]} for column in columns],
    })
    for numbers, texts in encoded:
        if numbers is not None:
            write_numbers(stream, numbers)
        if texts is not None:
            write_texts(stream, texts)


# One call.

def run_call(reader, writer):
    writer.write(struct.pack('<i', os.getpid()))
    writer.flush()
    size, = struct.unpack('<I', read_exact(reader, 4))
    header = json.loads(read_exact(reader, size).decode('utf-8'))
    try:
        confine(header.get('user', 0))
    except OSError as error:
        write_frame(writer, NOT_CONFINED, {'message': 'the Python worker could not give the call a user id and '
                                                      f'folders of its own: {error}'})
        writer.flush()
        return
    limit(header.get('memory', 0), header.get('processes', 0))
    try:
        rows = header['rows']
        columns = []
        for param in header['params']:
            numbers = read_numbers(reader, rows) if param['type'] != TEXT else None
            texts = read_texts(reader, rows) if param['type'] != NUMBER else None
            columns.append((numbers, texts))
        evaluate(writer, header, columns)
    except MemoryError:
        write_frame(writer, OUT_OF_MEMORY, {'message': 'MemoryError'})
    writer.flush()


def evaluate(writer, header, columns):
    script = header['script']
    try:
        try:
            code, expression = compile(script, 'script', 'eval'), True
        except SyntaxError:
            code, expression = compile(script, 'script', 'exec'), False
        values = scope(code, header, columns)
        if expression:
            value = eval(code, values)
        else:
            exec(code, values)
            if 'qResult' not in values:
                raise AnswerError('set no qResult; assign the answer to qResult, or write one expression')
            value = values['qResult']
        write_answer(writer, value, header, values)
    except MemoryError:
        raise
    except AnswerError as error:
        write_frame(writer, SCRIPT_ERROR, {'message': f'the Python script {error}'})
    except BaseException as error:  # noqa: B036 - a script's SystemExit or KeyboardInterrupt is its error too.
        write_frame(writer, SCRIPT_ERROR, {'message': f'Python error: {last_line(error)}'})


def last_line(error):
    """The last line of the traceback, as Qlik shows it; with the line for a syntax error, and how to install."""
    if isinstance(error, ModuleNotFoundError) and error.name in ('numpy', 'pandas'):
        return f'ModuleNotFoundError: {_install_hint(error.name)}'
    if isinstance(error, ModuleNotFoundError) and error.name:
        return (f"ModuleNotFoundError: No module named '{error.name}'; install it where SsePlugin runs Python "
                f'(apt install python3-{error.name}, or pip install {error.name})')
    line = traceback.format_exception_only(type(error), error)[-1].strip()
    if isinstance(error, SyntaxError) and error.lineno:
        line += f' (line {error.lineno})'
    if isinstance(error, OSError) and error.errno == errno.ENOSPC and TEMP_LIMIT:
        line += (f'; the temporary folders of a call (/tmp, /var/tmp, /dev/shm...) hold at most '
                 f'{TEMP_LIMIT // 1048576} MB (SsePlugin:Python:TempLimitMegabytes)')
    return line


try:
    import resource
except ImportError:  # Windows
    resource = None


def limit(memory, processes):
    """The call's limits: its address space and the processes of its account (Linux, macOS)."""
    if resource is None:
        return
    if memory:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    if processes and hasattr(resource, 'RLIMIT_NPROC'):
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))


def shared_folders():
    """
    The folders any account may write to (mode o+w: /tmp, /var/tmp, /dev/shm, /run/lock, ...) on every mounted
    filesystem but the kernel's, outermost only: found once, as the worker starts.
    """
    import subprocess
    with open('/proc/self/mounts') as mounts:
        roots = sorted({fields[1].replace('\\040', ' ') for fields in (line.split() for line in mounts)
                        if fields[2] not in KERNEL_FILESYSTEMS and not fields[1].startswith(('/proc/', '/sys/'))})
    found = subprocess.run(['find', *roots, '-xdev', '-type', 'd', '-perm', '-0002', '-print', '-prune'],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False).stdout
    folders = []
    for folder in sorted(set(os.fsdecode(line) for line in found.splitlines())):
        if not any(folder.startswith(outer.rstrip('/') + '/') for outer in folders):
            folders.append(folder)
    return tuple(folders)


def confine(user):
    """
    The call's own user id (in the worker's user namespace), with its own System V IPC and message queues, and its own
    empty folder over each folder every account may write to (SHARED_FOLDERS): all on one tmpfs of TEMP_LIMIT bytes,
    gone with the call's last process. No other call can signal, trace or read its processes or see its files, and no
    later call finds what it left there. Then not readable by others (PR_SET_DUMPABLE 0: no /proc/PID/mem, environ or
    ptrace), also where calls share an account.
    """
    if user:
        checked(LIBC.unshare(CLONE_NEWNS | CLONE_NEWIPC), 'unshare')
        checked(LIBC.mount(b'none', b'/', None, MS_REC | MS_PRIVATE, None), 'mount --make-rprivate /')
        private_folders()
        os.setgroups([])
        os.setresgid(user, user, user)
        os.setresuid(user, user, user)
        os.chdir('/tmp')
        os.environ['HOME'] = '/tmp'
    if LIBC is not None and hasattr(LIBC, 'prctl'):
        LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def private_folders():
    """One tmpfs of TEMP_LIMIT bytes, mounted over the worker's folder; a folder of it bound over each shared one."""
    here = os.getcwd()
    checked(LIBC.mount(b'tmpfs', here.encode(), b'tmpfs', MS_NOSUID | MS_NODEV, b'mode=0700,size=%d' % TEMP_LIMIT),
            'mount tmpfs')
    store = os.open(here, os.O_PATH)
    for number, folder in enumerate(SHARED_FOLDERS):
        private = f'/proc/self/fd/{store}/{number}'
        os.mkdir(private)
        os.chmod(private, 0o1777)
        checked(LIBC.mount(private.encode(), os.fsencode(folder), None, MS_BIND, None), f'mount --bind {folder}')
    if os.path.ismount('/dev/mqueue'):
        checked(LIBC.mount(b'mqueue', b'/dev/mqueue', b'mqueue', MS_NOSUID | MS_NODEV | MS_NOEXEC, None),
                'mount mqueue /dev/mqueue')
    os.close(store)


def checked(result, what):
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f'{what}: {os.strerror(number)}')


# The two ways to run.

def confine_child():
    """A call's child: a session of its own, ended with every process it starts."""
    os.setsid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def serve(path, temp_limit):
    global LIBC, SHARED_FOLDERS, TEMP_LIMIT
    LIBC = ctypes.CDLL(None, use_errno=True)
    SHARED_FOLDERS, TEMP_LIMIT = shared_folders(), temp_limit
    import selectors
    import socket
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    versions = {
        'python': sys.version.split()[0],
        'numpy': numpy.__version__ if HAS_NUMPY else None,
        'pandas': pandas.__version__ if HAS_PANDAS else None,
    }
    sys.stdout.write('ready ' + json.dumps(versions) + '\n')
    sys.stdout.flush()
    children = set()
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(sys.stdin, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.fileobj is sys.stdin:
                # The host has gone (its pipe closed): end every call it started.
                for child in children:
                    try:
                        os.kill(-child, signal.SIGKILL)
                    except OSError:
                        pass
                os._exit(0)
            connection, _ = listener.accept()
            child = os.fork()
            if child == 0:
                selector.close()
                listener.close()
                confine_child()
                try:
                    run_call(connection.makefile('rb'), connection.makefile('wb'))
                finally:
                    os._exit(0)
            connection.close()
            children.add(child)
            reap(children)


def reap(children):
    for child in list(children):
        try:
            done, _ = os.waitpid(child, os.WNOHANG)
        except ChildProcessError:
            done = child
        if done:
            children.discard(child)


def once():
    reader, writer = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr = open(os.devnull, 'w')
    run_call(reader, writer)


if __name__ == '__main__':
    if len(sys.argv) == 4 and sys.argv[1] == 'serve':
        serve(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 2 and sys.argv[1] == 'once':
        once()
    else:
        sys.exit('usage: worker.py serve SOCKET TEMP_BYTES | worker.py once')
