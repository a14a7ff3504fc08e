// Certificates for the TLS tests, made with the `openssl` CLI: a throwaway CA, a server
// certificate for 127.0.0.1/localhost signed by it, and client certificates.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

function openssl(args, cwd) {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

// A CA in `dir`: returns {cert, key} paths.
export function makeCa(dir, name = "ca") {
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", key, "-out", cert, "-days", "2", "-subj", `/CN=Sluice test ${name}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"],
  dir);
  return { cert, key };
}

// A leaf certificate signed by `ca`, written to <name>.pem / <name>.key. `server`: SANs for
// 127.0.0.1 and localhost and serverAuth; otherwise a client certificate (clientAuth).
export function makeLeaf(dir, ca, name, { server = true, cn = name } = {}) {
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  fs.writeFileSync(ext, server
    ? "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
    : "extendedKeyUsage=clientAuth\n");
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", key, "-out", csr, "-subj", `/CN=${cn}`], dir);
  openssl(["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial",
    "-out", cert, "-days", "2", "-extfile", ext], dir);
  return { cert, key };
}

// A config file that turns TLS on (plus `extra` YAML lines under server:).
export function writeTlsConfig(dir, { cert, key, clientCa, extra = [] }) {
  const file = path.join(dir, "sluice.yaml");
  const lines = ["server:", "  tls:", `    cert_file: ${cert}`, `    key_file: ${key}`];
  if (clientCa) lines.push(`    client_ca_file: ${clientCa}`);
  lines.push(...extra.map((l) => `  ${l}`));
  fs.writeFileSync(file, lines.join("\n") + "\n");
  return file;
}
