"""Random .npy files and what NumPy's own reader makes of them, for test/problem/npy-numpy.test.ts.

Usage: python3 npy-cases.py SEED COUNT > cases.json

Each case is a file (hex) built by hand, so that headers vary as NumPy's writer never varies them: versions
1.0/2.0/3.0 (and unsupported ones), key order, quotes, blanks and line breaks, trailing commas, padding that
leaves the data unaligned, shapes of 0 to 3 dimensions; and a share of them mutated: duplicate, unknown or
missing keys, other dtypes, Fortran order, Python syntax outside what NumPy writes, truncated or extra data.
`numpy` is np.load's outcome; `subset` marks files inside the subset the service must read (a valid
little-endian float64 file in C order with no extra bytes).
"""
import io
import json
import random
import struct
import sys
import warnings

import numpy as np

seed, count = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)
BLANKS_INSIDE = [' ', ' ', ' ', '', '', '\t', '\n', '\r\n', '\f']


def blank():
    return ''.join(rng.choice(BLANKS_INSIDE) for _ in range(rng.randint(0, 2)))


def quoted(s):
    q = rng.choice(["'", '"'])
    return f'{q}{s}{q}'


def tuple_literal(dims):
    if not dims:
        return '(' + blank() + ')'
    parts = [blank() + str(d) + blank() for d in dims]
    trailing = len(dims) == 1 or rng.random() < 0.3
    return '(' + ','.join(parts) + (',' + blank() if trailing else '') + ')'


def make_case():
    subset = True
    version = rng.choice([(1, 0), (2, 0), (3, 0)])
    if rng.random() < 0.03:
        version = rng.choice([(1, 1), (0, 0), (4, 0), (2, 1)])
        subset = False
    ndim = rng.choice([0, 1, 1, 2, 2, 3])
    dims = [rng.randint(0, 5) for _ in range(ndim)]
    items = {
        'descr': quoted('<f8'),
        'fortran_order': 'False',
        'shape': tuple_literal(dims),
    }
    extra = []  # (key literal, value literal) added after the three
    mutation = None
    if rng.random() < 0.35:
        mutation = rng.choice([
            'dup-descr', 'dup-shape', 'dup-fortran', 'unknown-key', 'missing-key', 'descr-f4', 'descr-be',
            'descr-d', 'fortran', 'int-shape', 'underscore', 'leading-zeros', 'bool-dim', 'concat', 'escape',
            'bytes-key', 'comment', 'latin1-pad', 'null', 'leading-newline', 'indented-tail', 'truncated',
            'extra-data', 'negative', 'list-shape', 'no-brace',
        ])
    keys = list(items)
    rng.shuffle(keys)
    if mutation == 'dup-descr':
        extra.append(('descr', quoted(rng.choice(['<f8', '<f4', '>f8']))))
    elif mutation == 'dup-shape':
        extra.append(('shape', tuple_literal([rng.randint(0, 5) for _ in range(rng.randint(0, 2))])))
    elif mutation == 'dup-fortran':
        extra.append(('fortran_order', rng.choice(['True', 'False'])))
    elif mutation == 'unknown-key':
        extra.append(('extra', rng.choice(['1', "'x'", '()'])))
    elif mutation == 'missing-key':
        keys.remove(rng.choice(keys))
    elif mutation == 'descr-f4':
        items['descr'] = quoted('<f4')
    elif mutation == 'descr-be':
        items['descr'] = quoted('>f8')
    elif mutation == 'descr-d':
        items['descr'] = quoted('<d')
    elif mutation == 'fortran':
        items['fortran_order'] = 'True'
    elif mutation == 'int-shape':
        dims = [rng.randint(1, 5)]
        items['shape'] = f'({dims[0]})'
    elif mutation == 'underscore' and dims:
        items['shape'] = items['shape'].replace(str(dims[0]), f'{dims[0]}_0', 1)
    elif mutation == 'leading-zeros' and dims:
        items['shape'] = items['shape'].replace(str(dims[0]), f'0{dims[0]}', 1)
    elif mutation == 'bool-dim':
        items['shape'] = '(True,)'
        dims = [1]
    elif mutation == 'concat':
        items['descr'] = "'<' 'f8'"
    elif mutation == 'escape':
        items['descr'] = "'\\x3cf8'"
    elif mutation == 'bytes-key':
        pass  # below: the key itself
    elif mutation == 'negative' and dims:
        items['shape'] = items['shape'].replace(str(dims[0]), f'-{dims[0]}', 1)
    elif mutation == 'list-shape':
        items['shape'] = '[' + ', '.join(map(str, dims)) + ']'
    if mutation is not None:
        subset = False

    entries = []
    for key in keys:
        k = ("b'descr'" if mutation == 'bytes-key' and key == 'descr' else quoted(key))
        entries.append(blank() + k + blank() + ':' + blank() + items[key] + blank())
    for k, v in extra:
        entries.insert(rng.randint(0, len(entries)), blank() + quoted(k) + blank() + ':' + blank() + v)
    body = ','.join(entries)
    if rng.random() < 0.5:
        body += ',' + blank()
    text = '{' + body + '}'
    if mutation == 'comment':
        text = text[:-1] + '# a comment\n}'
    if mutation == 'no-brace':
        text = text[:-1]
    if mutation == 'leading-newline':
        text = '\n' + text
    if rng.random() < 0.3:
        text = rng.choice([' ', '\t']) + text
    # padding: none, NumPy's (data 64-aligned), or random
    header_bytes_len = {(1, 0): 2}.get(version, 4) + 8
    pad_style = rng.choice(['none', 'numpy', 'random', 'random'])
    if pad_style == 'numpy':
        unpadded = header_bytes_len + len(text.encode('latin1')) + 1
        text += ' ' * ((64 - unpadded % 64) % 64) + '\n'
    elif pad_style == 'random':
        text += ' ' * rng.randint(0, 13) + rng.choice(['', '\n', '\r\n'])
    if mutation == 'indented-tail':
        text += '\n  '
    if mutation == 'latin1-pad':
        text += '\xa0'
    if mutation == 'null':
        text += '\x00'
    encoded = text.encode('utf-8' if version == (3, 0) else 'latin1')
    length = struct.pack('<H' if version == (1, 0) else '<I', len(encoded))
    n = 1
    for d in dims:
        n *= d
    data = bytes(rng.getrandbits(8) for _ in range(8 * n))
    if mutation == 'truncated':
        data = data[:-rng.randint(1, 8)] if data else b''
    if mutation == 'extra-data':
        data += bytes(rng.randint(1, 9))
    raw = b'\x93NUMPY' + bytes(version) + length + encoded + data
    return raw, subset, mutation


def numpy_reads(raw):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            a = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as error:  # noqa: BLE001 - any refusal counts
        return {'ok': False, 'error': f'{type(error).__name__}: {error}'[:200]}
    if a.dtype != np.dtype('<f8'):
        return {'ok': True, 'dtype': str(a.dtype), 'shape': list(a.shape)}
    return {'ok': True, 'dtype': '<f8', 'shape': list(a.shape), 'data': np.ascontiguousarray(a).tobytes().hex()}


cases = []
for i in range(count):
    raw, subset, mutation = make_case()
    cases.append({'hex': raw.hex(), 'subset': subset, 'mutation': mutation, 'numpy': numpy_reads(raw)})
json.dump({'seed': seed, 'numpy': np.__version__, 'cases': cases}, sys.stdout)
