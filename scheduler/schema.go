package scheduler

import _ "embed" // the channel file schema

// ChannelSchema is the JSON Schema (draft 2020-12) of a channel file, for
// editors that complete and validate channels.d/*.yaml. A test keeps it in
// step with the Go types.
//
//go:embed channel.schema.json
var ChannelSchema []byte
