// jsforce 3.x against the emulator: OAuth2 password login (jsforce posts the form as a chunked
// body), identity, describe, find with Owner.*, query, update. Prints one JSON object.
// Env: SF_URL (https base URL), NODE_EXTRA_CA_CERTS (the emulator's CA).
const jsforce = require("jsforce");

async function main() {
  const base = process.env.SF_URL;
  const conn = new jsforce.Connection({
    oauth2: { loginUrl: base, clientId: "probe", clientSecret: "probe", redirectUri: base + "/callback" },
    version: "59.0",
  });
  const login = await conn.login("integration@territory-sandbox.example", "password");
  const identity = await conn.identity();
  const versions = await conn.request("/services/data/");
  const describe = await conn.sobject("Account").describe();
  const owner = describe.fields.find((f) => f.name === "OwnerId");
  const found = await conn.sobject("Account").find({}, ["Id", "Name", "Owner.*"]).sort("Name").limit(3);
  const query = await conn.query("SELECT Id, Name, Industry FROM Account ORDER BY Name LIMIT 5");
  const target = query.records[0];
  const updated = await conn.sobject("Account").update({ Id: target.Id, Industry: "Retail" });
  const after = await conn.sobject("Account").retrieve(target.Id);
  console.log(JSON.stringify({
    loginUserId: login.id,
    identityUserId: identity.user_id,
    versions: versions.map((v) => v.version),
    ownerField: { type: owner.type, referenceTo: owner.referenceTo, relationshipName: owner.relationshipName },
    found: found.map((r) => ({ Id: r.Id, Name: r.Name, OwnerName: r.Owner ? r.Owner.Name : null,
                               OwnerEmail: r.Owner ? r.Owner.Email : null })),
    queryTotal: query.totalSize,
    queryIds: query.records.map((r) => r.Id),
    updated: { id: updated.id, success: updated.success },
    industryAfter: after.Industry,
  }));
}

main().catch((err) => { console.error(err && err.stack ? err.stack : String(err)); process.exit(1); });
