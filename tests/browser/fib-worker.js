// The dedicated worker of frames.html.
fetch("fib.wasm")
  .then((response) => response.arrayBuffer())
  .then((bytes) => WebAssembly.instantiate(bytes, {}))
  .then(({ instance }) => postMessage(`worker fib(21) = ${instance.exports.fib(21)}`));
