// The chart renderer's template subset: Go's text/template results for what it supports, errors for the rest.
import t from 'tap';
import { type Defines, parseTemplate } from './go-template.js';
import { execute } from './go-template-run.js';

function render(text: string, data: unknown, defines: Defines = new Map()): string {
  return execute(parseTemplate('t', text, defines), data, defines);
}

t.test('trim markers, comments and printing, as text/template does', async (t) => {
  t.equal(render('a  {{- "b" -}}  \n c', {}), 'abc');
  t.equal(render('a {{ "b" }} c', {}), 'a b c');
  t.equal(render('x{{/* note */}}y {{- /* trimmed */ -}} z', {}), 'xyz');
  t.equal(render('{{ .n }} {{ .b }} {{ -3 }}', { n: 8080, b: false }), '8080 false -3');
  t.equal(render('{{-3}}', {}), '-3', '{{-3}} is the number -3, not a trim');
});

t.test('if / else if / else, with, range over lists and maps', async (t) => {
  const tpl = '{{ if .a }}A{{ else if .b }}B{{ else }}C{{ end }}';
  t.equal(render(tpl, { a: 1, b: 1 }), 'A');
  t.equal(render(tpl, { a: 0, b: 'x' }), 'B');
  t.equal(render(tpl, { a: [], b: {} }), 'C', 'empty lists and maps are false');
  t.equal(render('{{ with .m }}{{ .k }}{{ else }}none{{ end }}', { m: { k: 'v' } }), 'v');
  t.equal(render('{{ with .m }}{{ .k }}{{ else }}none{{ end }}', { m: {} }), 'none');
  t.equal(render('{{ range $k, $v := .m }}{{ $k }}={{ $v }};{{ end }}', { m: { b: 2, a: 1 } }), 'a=1;b=2;');
  t.equal(
    render('{{ range .l }}[{{ . }}|{{ $.x }}]{{ else }}empty{{ end }}', { l: [1, 2], x: 'X' }),
    '[1|X][2|X]',
  );
  t.equal(render('{{ range .l }}x{{ else }}empty{{ end }}', { l: [] }), 'empty');
  t.equal(render('{{ $v := "a" }}{{ if true }}{{ $v := "b" }}{{ $v }}{{ end }}{{ $v }}', {}), 'ba');
});

t.test('the Sprig and Helm functions the chart uses', async (t) => {
  const defines: Defines = new Map();
  parseTemplate('_h', '{{- define "n" -}}name-{{ .x }}{{- end -}}', defines);
  t.equal(render('{{ include "n" . | quote }}', { x: 1 }, defines), '"name-1"');
  t.equal(render('{{ default "d" .v }}|{{ .w | default "d" }}', { v: '', w: 'w' }), 'd|w');
  // Keys sorted as Helm's toYaml does. (Lists are indented under their key here, not by go-yaml: the
  // same data once parsed, which is all the chart's test reads.)
  t.equal(
    render('a:{{ toYaml .m | nindent 2 }}', { m: { b: { c: 1 }, a: 'y' } }),
    'a:\n  a: y\n  b:\n    c: 1',
  );
  t.equal(render('{{ printf "%s:%d" "h" 80 }}', {}), 'h:80');
  t.equal(render('{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}{{ toYaml $d }}', {}), 'a: 1\nb: 2');
  t.equal(render('{{ and 1 0 }} {{ or 0 "" "z" }} {{ not 0 }}', {}), '0 z true');
  t.equal(render('{{ if gt (int .n) 1 }}many{{ end }}', { n: 2 }), 'many');
  t.equal(render('{{ "abcdef-" | trunc 4 }} {{ "ab-" | trimSuffix "-" }}', {}), 'abcd ab');
  t.equal(render('{{ hasKey .m "a" }} {{ eq .s "x" }}', { m: { a: null }, s: 'x' }), 'true true');
});

t.test(
  'missing keys: nil by default, an error under strict (helm lint --strict), nil through index',
  async (t) => {
    const defines: Defines = new Map();
    const nodes = parseTemplate(
      't',
      '{{ default "none" .m.x }}|{{ default "none" (index .m "x") }}',
      defines,
    );
    t.equal(execute(nodes, { m: {} }, defines), 'none|none');
    t.throws(() => execute(nodes, { m: {} }, defines, true), /map has no entry for key "x"/);
    const viaIndex = parseTemplate('t', '{{ default "none" (index .m "x") }}', defines);
    t.equal(execute(viaIndex, { m: {} }, defines, true), 'none');
  },
);

t.test('anything outside the subset fails loudly', async (t) => {
  const fails: [string, unknown, RegExp][] = [
    ['{{ upper "a" }}', {}, /function "upper" is not supported/],
    ['{{ template "x" . }}', {}, /template.*not supported/],
    ['{{ block "x" . }}{{ end }}', {}, /block.*not supported/],
    ['{{ `raw` }}', {}, /cannot read/],
    ['{{ .a.b }}', { a: null }, /\.b of nil/],
    ['{{ .missing }}', {}, /cannot print nil/],
    ['{{ .m }}', { m: { a: 1 } }, /cannot print a map/],
    ['{{ .n }}', { n: 1000000 }, /1e\+06/],
    ['{{ eq .n 1 }}', { n: 1 }, /compare two strings or two booleans/],
    ['{{ gt .s 1 }}', { s: '2' }, /gt compares numbers/],
    ['{{ if .a }}x', { a: 1 }, /missing \{\{end\}\}/],
    ['{{ end }}', {}, /unexpected \{\{end\}\}/],
    ['{{ $x = 1 }}', {}, /assignment/],
    ['{{ include "nope" . }}', {}, /no template "nope"/],
    ['{{ fail "stop here" }}', {}, /stop here/],
    ['{{ required "need x" .x }}', {}, /need x/],
  ];
  for (const [tpl, data, error] of fails) t.throws(() => render(tpl, data), error, tpl);
});
