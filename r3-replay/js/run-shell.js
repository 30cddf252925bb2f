// Runs a merged replay module (replay.wasm: no imports) in a bare JavaScript shell such as
// JavaScriptCore's `jsc`, which has no node APIs: `jsc run-shell.js -- replay.wasm`.
// Shells do not all pass exit codes through, so the last line says `r3: replay ok` or
// `r3: replay FAILED`.
(function () {
  const path = arguments[0];
  const bytes = readFile(path, 'binary');
  const module = new WebAssembly.Module(bytes);
  const sections = WebAssembly.Module.customSections(module, 'r3-replay');
  const metadata = sections.length
    ? JSON.parse(String.fromCharCode.apply(null, new Uint8Array(sections[0])))
    : { segments: [{ export: '_start', expect: 'return' }] };
  const instance = new WebAssembly.Instance(module, {});
  let ok = true;
  for (const segment of metadata.segments) {
    let outcome = 'return';
    try {
      instance.exports[segment.export]();
    } catch (error) {
      outcome = error instanceof WebAssembly.RuntimeError ? 'trap' : 'throw';
    }
    // A recorded host exception and an unfinished call are traps in a merged module.
    const expected = segment.expect === 'return' ? 'return' : 'trap';
    if (outcome !== expected) {
      ok = false;
      print('r3: ' + segment.export + ': expected ' + segment.expect + ', got ' + outcome);
    }
  }
  print(ok ? 'r3: replay ok' : 'r3: replay FAILED');
}).apply(null, arguments);
