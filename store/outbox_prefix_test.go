package store

import (
	"context"
	"testing"
)

// OutboxByKeyPrefix on both drivers (PostgreSQL has chr, not char).
func TestOutboxByKeyPrefix(t *testing.T) { eachDriver(t, testOutboxByKeyPrefix) }

func testOutboxByKeyPrefix(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	for _, k := range []string{"run:1:exec", "run:1:wb", "run:10:exec", "run:2:exec", "run:1"} {
		if _, _, err := db.Enqueue(ctx, OutboxItem{Kind: "k", Key: k, Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.OutboxByKeyPrefix(ctx, "run:1:")
	if err != nil || len(got) != 2 || got[0].Key != "run:1:exec" || got[1].Key != "run:1:wb" {
		t.Fatalf("OutboxByKeyPrefix = %+v, %v", got, err)
	}
}
