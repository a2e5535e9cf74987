-- wrk script: POST the documented run.completed example, as the dispatcher benchmark does.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local file = assert(io.open("fixtures/valid/01-docs-run-completed.json", "rb"))
wrk.body = file:read("*a")
file:close()
