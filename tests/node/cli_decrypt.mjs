// The AIGNE CLI's own decryption of an access key (what `aigne hub connect` runs on the
// session's answer). Usage: node cli_decrypt.mjs <accessKeySecret> <accessKeyId> <challenge>
import { decrypt } from "./node_modules/@aigne/cli/dist/utils/aigne-hub/crypto.js";

const [cipher, accessKeyId, challenge] = process.argv.slice(2);
process.stdout.write(JSON.stringify({ secret: decrypt(cipher, accessKeyId, challenge) }) + "\n");
