-- Argo CD health for tessera.dev/DiTInference. The operator writes kstatus conditions (Ready always,
-- Reconciling and Stalled only while true), so this reads them in kstatus' order: an object the operator
-- has not seen at its current generation is still progressing, Stalled means a person must act,
-- Reconciling means groups are starting, rolling or being recreated, and only Ready=True is healthy.
local function result(status, message)
  return { status = status, message = message }
end

local function condition(conditions, wanted)
  if type(conditions) ~= "table" then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == wanted then
      return c
    end
  end
  return nil
end

local function describe(c, fallback)
  if c == nil then
    return fallback
  end
  local reason = c.reason or ""
  local message = c.message or ""
  if reason ~= "" and message ~= "" then
    return reason .. ": " .. message
  end
  if message ~= "" then
    return message
  end
  if reason ~= "" then
    return reason
  end
  return fallback
end

if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  return result("Progressing", "Being deleted")
end

local status = obj.status
if status == nil or status.conditions == nil then
  return result("Progressing", "Waiting for the Tessera operator to report status")
end

local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= nil and status.observedGeneration ~= generation then
  return result("Progressing", "Waiting for the Tessera operator to observe generation " .. tostring(generation))
end

local stalled = condition(status.conditions, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  return result("Degraded", describe(stalled, "Stalled"))
end

local reconciling = condition(status.conditions, "Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  return result("Progressing", describe(reconciling, "Reconciling"))
end

local ready = condition(status.conditions, "Ready")
-- Scaled to zero is reconciled (Ready=True for kstatus) but serves nothing: Argo CD calls that Suspended.
if ready ~= nil and ready.status == "True" and ready.reason == "ScaledToZero" then
  return result("Suspended", describe(ready, "Scaled to zero"))
end
if ready ~= nil and ready.status == "True" then
  return result("Healthy", describe(ready, "Ready"))
end

return result("Progressing", describe(ready, "Waiting for the Ready condition"))
