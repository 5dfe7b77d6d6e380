// The network in this browser, for a site written by `trainer export --web`:
// the WebAssembly reader (crates/web) with the run's weights, ready before
// the first reading. Loaded before app.js, which finds the promise in
// `window.hanzi12Reader` and reads through it instead of a server. Once
// loaded, nothing more is fetched: the page reads with the network gone.
import init, { Reader } from "./hanzi12_web.js";

async function load() {
  const fetched = async (name, as) => {
    const response = await fetch(name);
    if (!response.ok) throw new Error(`${name}: ${response.status} ${response.statusText}`);
    return response[as]();
  };
  const [, manifest, weights] = await Promise.all([
    init({ module_or_path: "hanzi12_web_bg.wasm" }),
    fetched("manifest.json", "text"),
    fetched("model.bpk", "arrayBuffer"),
  ]);
  const reader = new Reader(manifest, new Uint8Array(weights));
  performance.mark("hanzi12-reader-ready");
  return {
    model: JSON.parse(reader.model()),
    // The same answer as the server's, timed here: decoding, normalising
    // and the forward pass, all in this browser.
    async read(blob) {
      const bytes = new Uint8Array(await blob.arrayBuffer());
      const started = performance.now();
      const answer = JSON.parse(reader.read(bytes));
      answer.ms = performance.now() - started;
      return answer;
    },
  };
}

window.hanzi12Reader = load();
