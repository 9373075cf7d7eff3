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
	json!({
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
				"summary": "Server-sent events: `validated` with a ValidatedEvent as data, for each entry indexed after its validation.",
				"responses": {"200": {"description": "An event stream.", "content": {"text/event-stream": {"schema": {"$ref": "#/components/schemas/ValidatedEvent"}}}}}
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
			"ValidatedEvent": {"type": "object", "properties": {"id": {"type": "integer"}, "question": {"type": "string"}, "validated_at": {"type": "integer"}, "cid": {"type": "string"}}}
		}}
	})
}
