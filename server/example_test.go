//go:build !nonative

package server_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/nailtrt/nailtrt/nails/segment"
	"github.com/nailtrt/nailtrt/server"
)

// Mount the API in your own program around a segmenter you opened.
func Example() {
	seg, err := segment.Open(context.Background(), segment.Config{Model: "../nails/testdata/semantic.json", Backend: "onnxruntime"})
	if err != nil {
		log.Fatal(err)
	}
	api := server.NewWithSegmenter(server.Config{CacheEntries: 100}, seg, server.Options{})
	defer api.Close() // closes the segmenter too

	mux := http.NewServeMux()
	mux.Handle("/", api)
	<-api.Loaded() // the warm-up inference runs in the background; Ready says how it ended
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	fmt.Println(rec.Code, rec.Body.String())
	// Output: 200 {"status":"ready"}
}
