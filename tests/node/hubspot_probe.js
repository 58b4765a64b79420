// @hubspot/api-client against the emulator: companies page, get, batch update, properties.
// Prints one JSON object. Env: HS_URL (http base URL), HS_TOKEN.
const hubspot = require("@hubspot/api-client");

async function main() {
  const client = new hubspot.Client({ accessToken: process.env.HS_TOKEN, basePath: process.env.HS_URL });
  const companies = client.crm.companies;
  const page = await companies.basicApi.getPage(5, undefined, ["name", "hubspot_owner_id"]);
  const first = page.results[0];
  const one = await companies.basicApi.getById(first.id, ["name", "industry"], ["industry"]);
  const batch = await companies.batchApi.update({
    inputs: page.results.slice(0, 2).map((c) => ({ id: c.id, properties: { industry: "Retail" } })),
  });
  const reread = await companies.batchApi.read({
    inputs: page.results.slice(0, 2).map((c) => ({ id: c.id })), properties: ["industry"], propertiesWithHistory: ["industry"],
  });
  const props = await client.crm.properties.coreApi.getAll("companies");
  const owners = await client.crm.owners.ownersApi.getPage(undefined, undefined, 10);
  console.log(JSON.stringify({
    pageIds: page.results.map((c) => c.id),
    hasNext: Boolean(page.paging && page.paging.next),
    one: { id: one.id, name: one.properties.name, historyKeys: Object.keys(one.propertiesWithHistory || {}) },
    batchStatus: batch.status,
    batchIds: batch.results.map((c) => c.id).sort(),
    reread: reread.results.map((c) => ({ id: c.id, industry: c.properties.industry,
      latestSource: c.propertiesWithHistory.industry[0].sourceType })),
    propertyNames: props.results.map((p) => p.name),
    owners: owners.results.map((o) => ({ id: o.id, userId: o.userId })),
  }));
}

main().catch((err) => { console.error(err && err.stack ? err.stack : String(err)); process.exit(1); });
