// Lets Node import the built site's /_search/search.js from disk: fetch() of a
// file: URL reads the file and counts the bytes served, as a static server would.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

export const served = { bytes: 0, files: 0 };

globalThis.fetch = async (url) => {
  const path = fileURLToPath(url);
  try {
    const body = await readFile(path);
    served.bytes += body.length;
    served.files += 1;
    return new Response(body, { status: 200 });
  } catch {
    return new Response("not found", { status: 404 });
  }
};

/// A fresh copy of the module (its own cache), as on a fresh page load.
let loads = 0;
export async function freshModule(publicDir) {
  const file = new URL(`file://${publicDir.replace(/\/$/, "")}/_search/search.js`);
  const text = await readFile(file);
  served.bytes += text.length;
  served.files += 1;
  file.search = `?load=${++loads}`;
  return import(file.href);
}
