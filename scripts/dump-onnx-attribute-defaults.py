#!/usr/bin/python3
"""Writes test/golden/onnx-attribute-defaults.json: every ONNX operator schema version's attributes (type,
required, default) as the onnx Python package defines them. The attribute-defaults test checks the op
catalogue against this file. Run with the Python that has onnx installed (Debian: apt-get install
python3-onnx, then /usr/bin/python3 scripts/dump-onnx-attribute-defaults.py)."""
import json
import math
import os
import sys

import onnx
from onnx import defs, helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'golden', 'onnx-attribute-defaults.json')


def json_default(attribute):
    """The default as JSON (floats as written in the schema, float32), or None when the schema gives none."""
    proto = attribute.default_value
    if proto is None or proto.type == onnx.AttributeProto.UNDEFINED:
        return None
    value = helper.get_attribute_value(proto)
    if isinstance(value, bytes):
        return value.decode('utf-8')
    if isinstance(value, list):
        return [v.decode('utf-8') if isinstance(v, bytes) else v for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (int, float, str)):
        return value
    return {'unsupported': type(value).__name__}


def newest_opsets():
    release, _ir, ai_onnx, ai_onnx_ml, training = next(row for row in helper.VERSION_TABLE if row[0] == onnx.__version__)[:5]
    return {'ai.onnx': ai_onnx, 'ai.onnx.ml': ai_onnx_ml, 'ai.onnx.preview.training': training}


def main():
    schemas = {}
    for schema in defs.get_all_schemas_with_history():
        domain = schema.domain or 'ai.onnx'
        attributes = {}
        for name, attribute in sorted(schema.attributes.items()):
            entry = {'type': attribute.type.name.lower(), 'required': attribute.required}
            default = json_default(attribute)
            if default is not None:
                entry['default'] = default
            attributes[name] = entry
        schemas.setdefault(f'{domain}:{schema.name}', []).append({'since': schema.since_version, 'attributes': attributes})
    for versions in schemas.values():
        versions.sort(key=lambda version: version['since'])
    document = {
        'origin': f'onnx {onnx.__version__} (Python package), onnx.defs.get_all_schemas_with_history(); written by scripts/dump-onnx-attribute-defaults.py',
        'onnx_version': onnx.__version__,
        # The newest opset of each domain this onnx release knows: versions past it are not in this file.
        'opsets': newest_opsets(),
        'schemas': dict(sorted(schemas.items())),
    }
    # One line per op: small to commit and readable in a diff.
    lines = [f'  {json.dumps(key)}: {json.dumps(versions)}' for key, versions in document.pop('schemas').items()]
    head = json.dumps(document, indent=1)[:-2]
    with open(OUT, 'w') as out:
        out.write(head + ',\n "schemas": {\n' + ',\n'.join(lines) + '\n }\n}\n')
    print(f'wrote {len(schemas)} ops to {OUT}', file=sys.stderr)


main()
