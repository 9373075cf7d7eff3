//! The OpenAPI 3.1 document of the gateway (`GET /openapi.json`).

use serde_json::{json, Value};

/// The document.
pub fn openapi() -> Value {
	let error = json!({"$ref": "#/components/schemas/Error"});
	let refusal =
		|why: &str| json!({"description": why, "content": {"application/json": {"schema": error}}});
	let hex = json!({"type": "string", "pattern": "^0x[0-9a-f]*$"});
	let set_start = json!({
		"name": "set_start", "in": "query", "required": false,
		"description": "The block that handed over to the authority set the device trusts (0: genesis set); set changes after it are included.",
		"schema": {"type": "integer", "minimum": 0}
	});
	let mut doc = json!({
		"openapi": "3.1.0",
		"info": {
			"title": "Membria gateway",
			"version": env!("CARGO_PKG_VERSION"),
			"description": "Validated knowledge of the Membria Knowledge Cache Graph, with the proofs a device checks itself: a GRANDPA-justified header, one storage proof against its state root, the bodies (checked by blake2-256 and CID). The gateway is untrusted: devices verify everything it returns."
		},
		"paths": {
			"/v1/ask": {"post": {
				"summary": "The best matching validated entries with proofs, or a miss (and the demand filed on chain).",
				"requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AskRequest"}}}},
				"responses": {
					"200": {"description": "Matches with proofs, or a miss.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AskResponse"}}}},
					"400": refusal("Bad JSON, an empty or oversize question (over 512 bytes), k outside 1..=10."),
					"429": refusal("Rate limit; see Retry-After."),
					"502": refusal("The node or IPFS failed."),
					"503": refusal("No justified block yet.")
				}
			}},
			"/v1/entries/{id}": {"get": {
				"summary": "One validated entry with its proof.",
				"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0}}, set_start],
				"responses": {
					"200": {"description": "The entry, proven.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Proven"}}}},
					"400": refusal("The id is not a non-negative integer."),
					"404": refusal("No such entry, or not validated."),
					"429": refusal("Rate limit.")
				}
			}},
			"/v1/sync": {"get": {
				"summary": "Entries validated at or after block `since`, proven against one justified header; page with `cursor`.",
				"parameters": [
					{"name": "since", "in": "query", "required": true, "schema": {"type": "integer", "minimum": 0}},
					{"name": "cursor", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0}},
					{"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
					set_start
				],
				"responses": {
					"200": {"description": "A page.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SyncResponse"}}}},
					"400": refusal("since missing, not a number or beyond the finalized head; limit out of range."),
					"429": refusal("Rate limit.")
				}
			}},
			"/v1/events": {"get": {
				"summary": "Server-sent events: `validated` with a ValidatedEvent as data, for each entry indexed after its validation (`lagged` when a slow reader missed some). A stream closes after 10 minutes: reconnect.",
				"responses": {
					"200": {"description": "An event stream.", "content": {"text/event-stream": {"schema": {"$ref": "#/components/schemas/ValidatedEvent"}}}},
					"429": refusal("Rate limit, or too many event streams open (8 per client, 512 in all).")
				}
			}},
			"/metrics": {"get": {"summary": "Prometheus metrics.", "responses": {"200": {"description": "Text exposition format."}}}},
			"/health": {"get": {"summary": "Finalized and justified heights, entries indexed.", "responses": {"200": {"description": "Serving."}, "503": {"description": "No justified block yet."}}}},
			"/openapi.json": {"get": {"summary": "This document.", "responses": {"200": {"description": "OpenAPI 3.1."}}}}
		},
		"components": {"schemas": {
			"Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
			"Hex": hex,
			"Justified": {"type": "object", "required": ["header", "justification"], "properties": {
				"header": {"$ref": "#/components/schemas/Hex", "description": "SCALE-encoded header."},
				"justification": {"$ref": "#/components/schemas/Hex", "description": "SCALE-encoded GRANDPA justification."}
			}},
			"Proven": {"type": "object", "required": ["set_changes", "finality", "proof", "entries"], "properties": {
				"set_changes": {"type": "array", "items": {"$ref": "#/components/schemas/Justified"}, "description": "Blocks that changed the authority set after set_start, each justified by the set before."},
				"finality": {"$ref": "#/components/schemas/Justified"},
				"proof": {"type": "array", "items": {"$ref": "#/components/schemas/Hex"}, "description": "Trie nodes proving Kcg.Entries, Kcg.Answer and Validators.Tallies of every entry."},
				"entries": {"type": "array", "items": {"type": "object", "required": ["id", "body"], "properties": {"id": {"type": "integer"}, "body": {"$ref": "#/components/schemas/Hex"}}}}
			}},
			"AskRequest": {"type": "object", "required": ["question"], "properties": {
				"question": {"type": "string", "maxLength": 512},
				"k": {"type": "integer", "minimum": 1, "maximum": 10, "default": 3},
				"file_demand": {"type": "boolean", "default": true},
				"set_start": {"type": "integer", "minimum": 0, "default": 0}
			}},
			"AskResponse": {"type": "object", "required": ["matches"], "properties": {
				"matches": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"}, "score": {"type": "number"}}}},
				"proven": {"oneOf": [{"$ref": "#/components/schemas/Proven"}, {"type": "null"}]},
				"miss": {"type": ["string", "null"]},
				"demand": {"oneOf": [{"type": "object", "properties": {"question_key": {"type": "string"}, "extrinsic": {"type": ["string", "null"]}, "note": {"type": ["string", "null"]}}}, {"type": "null"}]}
			}},
			"SyncResponse": {"type": "object", "required": ["proven", "proven_at"], "properties": {
				"proven": {"$ref": "#/components/schemas/Proven"},
				"next_cursor": {"type": ["integer", "null"]},
				"proven_at": {"type": "integer"}
			}},
			"Planck": {"type": ["string", "integer"], "description": "An amount in planck (10^-12 MEM); a decimal string when over 2^53."},
			"ChainEvent": {"type": "object", "properties": {
				"block": {"type": "integer"}, "pallet": {"type": "string"}, "event": {"type": "string"},
				"fields": {"type": "object", "description": "The event's fields by name, decoded with the runtime's metadata: accounts in SS58, questions as text, CIDs in text form, byte strings as 0x hex."}
			}},
			"ValidatedEvent": {"type": "object", "properties": {"id": {"type": "integer"}, "question": {"type": "string"}, "validated_at": {"type": "integer"}, "cid": {"type": "string"}}}
		}}
	});
	if let Some(paths) = doc["paths"].as_object_mut() {
		if let Value::Object(explorer) = explorer_paths(&refusal, &hex) {
			paths.extend(explorer);
		}
	}
	doc
}

/// The explorer's page and API.
fn explorer_paths(refusal: &dyn Fn(&str) -> Value, hex: &Value) -> Value {
	json!({
			"/": {"get": {"summary": "The explorer: a web page over the /v1/explorer API (its script and style at /explorer.js and /explorer.css; a Content-Security-Policy allows nothing else).", "responses": {"200": {"description": "HTML."}}}},
			"/v1/explorer/overview": {"get": {
				"summary": "The finalized and justified heights, the runtime's spec version, counts of entries, voting validators, open demand and gaps, the blocks whose events were read (`events_from`..`events_to`) and the newest events. What the gateway reads from its node: unproven.",
				"responses": {"200": {"description": "The overview.", "content": {"application/json": {"schema": {"type": "object", "properties": {
					"finalized": {"type": "integer"}, "justified": {"type": ["integer", "null"]}, "spec_version": {"type": ["integer", "null"]},
					"entries": {"type": "integer"}, "validators": {"type": "integer"}, "session": {"type": ["integer", "null"]}, "session_stake": {"$ref": "#/components/schemas/Planck"},
					"demand": {"type": "integer"}, "gaps": {"type": "integer"}, "events_from": {"type": ["integer", "null"]}, "events_to": {"type": ["integer", "null"]},
					"recent": {"type": "array", "items": {"$ref": "#/components/schemas/ChainEvent"}}
				}}}}}, "429": refusal("Rate limit.")}
			}},
			"/v1/explorer/entries": {"get": {
				"summary": "The validated entries the gateway serves, newest first.",
				"parameters": [{"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}],
				"responses": {
					"200": {"description": "A page.", "content": {"application/json": {"schema": {"type": "object", "properties": {
						"total": {"type": "integer"},
						"entries": {"type": "array", "items": {"$ref": "#/components/schemas/ValidatedEvent"}}
					}}}}},
					"400": refusal("limit out of range."),
					"429": refusal("Rate limit.")
				}
			}},
			"/v1/explorer/entries/{id}": {"get": {
				"summary": "Any entry (pending, validated, rejected…) as the chain holds it at the finalized head: status, author, CID, links, deposit; its body checked against the record; the tally; every vote (validator, verdict, stake, block) and event read since `events_from`.",
				"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0}}],
				"responses": {
					"200": {"description": "The entry.", "content": {"application/json": {"schema": {"type": "object", "properties": {
						"id": {"type": "integer"}, "status": {"enum": ["pending", "validated", "rejected", "expired", "superseded", "retracted"]},
						"status_block": {"type": ["object", "null"], "description": "deadline, at or by, as the status has it."},
						"author": {"type": "string", "description": "SS58."}, "cid": {"type": "string"}, "content_hash": hex, "size": {"type": "integer"},
						"gap": {"type": ["integer", "null"]}, "links": {"type": "array", "items": {"type": "object", "properties": {"to": {"type": "integer"}, "relation": {"enum": ["supports", "contradicts", "refines", "related"]}}}},
						"submitted_at": {"type": "integer"}, "session": {"type": "integer"}, "deposit": {"$ref": "#/components/schemas/Planck"},
						"tally": {"type": ["object", "null"], "properties": {"approve": {"$ref": "#/components/schemas/Planck"}, "reject": {"$ref": "#/components/schemas/Planck"}}},
						"body": {"type": ["object", "null"], "description": "The body (schema of off-chain-workers' body.rs), when it matches the record."},
						"body_error": {"type": ["string", "null"]},
						"votes": {"type": "array", "items": {"type": "object", "properties": {"validator": {"type": "string"}, "verdict": {}, "stake": {"$ref": "#/components/schemas/Planck"}, "block": {"type": "integer"}}}},
						"history": {"type": "array", "items": {"$ref": "#/components/schemas/ChainEvent"}},
						"events_from": {"type": ["integer", "null"]}
					}}}}},
					"400": refusal("The id is not a non-negative integer."),
					"404": refusal("No such entry at the finalized block."),
					"429": refusal("Rate limit."),
					"502": refusal("The node failed.")
				}
			}},
			"/v1/explorer/validators": {"get": {
				"summary": "Candidates, bonded accounts and the current session's voters: stake in the session, active and unlocking bond; from the events read, votes (approve / reject), last vote, slashed and rewarded totals and the newest slashes.",
				"responses": {"200": {"description": "The validators.", "content": {"application/json": {"schema": {"type": "object"}}}}, "429": refusal("Rate limit.")}
			}},
			"/v1/explorer/demand": {"get": {
				"summary": "Open demand (question, requesters, held deposits, expiry) and gaps (question, bounty, claim) at the finalized head, at most 256 of each (`truncated` when more).",
				"responses": {"200": {"description": "Demand and gaps.", "content": {"application/json": {"schema": {"type": "object"}}}}, "429": refusal("Rate limit.")}
			}},
			"/v1/explorer/events": {"get": {
				"summary": "Server-sent events: `block` for each finalized block read, with its number and its Kcg, Validators and Dod events (`lagged` when a slow reader missed some). A stream closes after 10 minutes: reconnect.",
				"responses": {
					"200": {"description": "An event stream.", "content": {"text/event-stream": {"schema": {"type": "object", "properties": {"number": {"type": "integer"}, "events": {"type": "array", "items": {"$ref": "#/components/schemas/ChainEvent"}}}}}}},
					"429": refusal("Rate limit, or too many event streams open (8 per client, 512 in all).")
				}
			}}
	})
}
