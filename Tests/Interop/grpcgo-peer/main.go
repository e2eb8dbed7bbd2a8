// A grpc-go peer for soak tests against Sluice: grpc-go 1.33 from Debian, built offline in
// GOPATH mode. Messages are handled as raw bytes (a pass-through codec), so no generated Go
// code is needed; the few fields used are encoded and decoded by hand.
//
// grpc-go picks a codec by the request's content subtype; a second pass-through codec named
// "json" makes it speak application/grpc+json, with the messages written and read by Go's
// encoding/json in the proto3 JSON mapping's field names.
//
//	grpcgo-peer server --port P
//	grpcgo-peer client --port P --unary N --stream M [--json]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
)

// rawCodec passes message bytes through; its name keeps the content type application/grpc+proto.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	p := v.(*[]byte)
	*p = append((*p)[:0], data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// jsonCodec passes JSON text through under the content subtype "json".
type jsonCodec struct{ rawCodec }

func (jsonCodec) Name() string { return "json" }

func init() {
	encoding.RegisterCodec(rawCodec{})
	encoding.RegisterCodec(jsonCodec{})
}

// The JSON forms of the few grpc.testing messages used (proto3 JSON names; bytes as base64,
// which encoding/json does for []byte).
type jsonPayload struct {
	Body []byte `json:"body"`
}
type jsonSimpleRequest struct {
	ResponseSize int32        `json:"responseSize"`
	Payload      *jsonPayload `json:"payload,omitempty"`
}
type jsonResponse struct {
	Payload *jsonPayload `json:"payload"`
}
type jsonResponseParameters struct {
	Size int32 `json:"size"`
}
type jsonStreamingRequest struct {
	ResponseParameters []jsonResponseParameters `json:"responseParameters"`
}

func isJSON(message []byte) bool { return len(message) > 0 && message[0] == '{' }

func jsonPayloadMessage(size int) []byte {
	out, _ := json.Marshal(jsonResponse{Payload: &jsonPayload{Body: make([]byte, size)}})
	return out
}

// jsonPayloadSize is the size of a JSON response's zero-filled payload, -1 if malformed.
func jsonPayloadSize(response []byte) int {
	var decoded jsonResponse
	decoder := json.NewDecoder(bytes.NewReader(response))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&decoded); err != nil || decoded.Payload == nil {
		return -1
	}
	for _, b := range decoded.Payload.Body {
		if b != 0 {
			return -1
		}
	}
	return len(decoded.Payload.Body)
}

func varint(n uint64) []byte {
	var out []byte
	for n >= 0x80 {
		out = append(out, byte(n)|0x80)
		n >>= 7
	}
	return append(out, byte(n))
}

func readVarint(b []byte) (uint64, int) {
	var v uint64
	for i, c := range b {
		v |= uint64(c&0x7f) << (7 * uint(i))
		if c < 0x80 {
			return v, i + 1
		}
	}
	return 0, -1
}

// field returns the bytes of length-delimited field `want` or the value of varint field `want`.
func field(b []byte, want uint64) (uint64, []byte, bool) {
	for len(b) > 0 {
		tag, n := readVarint(b)
		if n < 0 {
			return 0, nil, false
		}
		b = b[n:]
		num, wire := tag>>3, tag&7
		switch wire {
		case 0:
			v, m := readVarint(b)
			if m < 0 {
				return 0, nil, false
			}
			b = b[m:]
			if num == want {
				return v, nil, true
			}
		case 2:
			l, m := readVarint(b)
			if m < 0 || int(l) > len(b)-m {
				return 0, nil, false
			}
			data := b[m : m+int(l)]
			b = b[m+int(l):]
			if num == want {
				return 0, data, true
			}
		default:
			return 0, nil, false
		}
	}
	return 0, nil, false
}

// payloadMessage encodes {1: Payload{2: size zero bytes}}: SimpleResponse and
// StreamingOutputCallResponse share the shape.
func payloadMessage(size int) []byte {
	body := append(append([]byte{0x12}, varint(uint64(size))...), make([]byte, size)...)
	return append(append([]byte{0x0a}, varint(uint64(len(body)))...), body...)
}

func payloadSize(response []byte) int {
	_, payload, ok := field(response, 1)
	if !ok {
		return -1
	}
	_, body, ok := field(payload, 2)
	if !ok {
		return 0
	}
	return len(body)
}

// MARK: server

func unaryCall(srv interface{}, ctx context.Context, dec func(interface{}) error, _ grpc.UnaryServerInterceptor) (interface{}, error) {
	var request []byte
	if err := dec(&request); err != nil {
		return nil, err
	}
	if isJSON(request) {
		var decoded jsonSimpleRequest
		if err := json.Unmarshal(request, &decoded); err != nil {
			return nil, err
		}
		response := jsonPayloadMessage(int(decoded.ResponseSize))
		return &response, nil
	}
	size, _, _ := field(request, 2) // SimpleRequest.response_size
	response := payloadMessage(int(size))
	return &response, nil
}

func fullDuplexCall(srv interface{}, stream grpc.ServerStream) error {
	for {
		var request []byte
		if err := stream.RecvMsg(&request); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		var response []byte
		if isJSON(request) {
			var decoded jsonStreamingRequest
			if err := json.Unmarshal(request, &decoded); err != nil || len(decoded.ResponseParameters) != 1 {
				return fmt.Errorf("bad JSON request %q: %v", request, err)
			}
			response = jsonPayloadMessage(int(decoded.ResponseParameters[0].Size))
		} else {
			_, parameters, _ := field(request, 2) // StreamingOutputCallRequest.response_parameters
			size, _, _ := field(parameters, 1)
			response = payloadMessage(int(size))
		}
		if err := stream.SendMsg(&response); err != nil {
			return err
		}
	}
}

var testService = grpc.ServiceDesc{
	ServiceName: "grpc.testing.TestService",
	HandlerType: (*interface{})(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "UnaryCall", Handler: unaryCall}},
	Streams: []grpc.StreamDesc{{StreamName: "FullDuplexCall", Handler: fullDuplexCall,
		ServerStreams: true, ClientStreams: true}},
}

func serve(port int) error {
	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err
	}
	server := grpc.NewServer()
	server.RegisterService(&testService, struct{}{})
	fmt.Printf("grpcgo-peer listening on port %d\n", listener.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()
	return server.Serve(listener)
}

// MARK: client

func runClient(port, unary, messages, concurrency int, useJSON bool) error {
	// ForceCodec keeps grpc-go 1.33's content type application/grpc; CallContentSubtype
	// sends application/grpc+json and picks the codec registered under that name.
	callOption := grpc.ForceCodec(rawCodec{})
	if useJSON {
		callOption = grpc.CallContentSubtype(jsonCodec{}.Name())
	}
	conn, err := grpc.Dial(fmt.Sprintf("127.0.0.1:%d", port), grpc.WithInsecure(), grpc.WithBlock(),
		grpc.WithDefaultCallOptions(callOption))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx := context.Background()

	// Unary: SimpleRequest{response_size: 64, payload: 64 bytes}.
	request := append([]byte{0x10, 64, 0x1a, 66, 0x12, 64}, make([]byte, 64)...)
	sizeOf := payloadSize
	if useJSON {
		request, _ = json.Marshal(jsonSimpleRequest{ResponseSize: 64, Payload: &jsonPayload{Body: make([]byte, 64)}})
		sizeOf = jsonPayloadSize
	}
	var failures, done int64
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for atomic.AddInt64(&done, 1) <= int64(unary) {
				var response []byte
				if err := conn.Invoke(ctx, "/grpc.testing.TestService/UnaryCall", &request, &response); err != nil || sizeOf(response) != 64 {
					if atomic.AddInt64(&failures, 1) <= 3 {
						fmt.Fprintf(os.Stderr, "unary failure: %v\n", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("unary: %d calls, %d failed, %.0f calls/s\n", unary, failures, float64(unary)/time.Since(start).Seconds())

	// Streaming: one FullDuplexCall, each request asking for one 16-byte response.
	start = time.Now()
	desc := &grpc.StreamDesc{StreamName: "FullDuplexCall", ServerStreams: true, ClientStreams: true}
	stream, err := conn.NewStream(ctx, desc, "/grpc.testing.TestService/FullDuplexCall")
	if err != nil {
		return err
	}
	streamRequest := []byte{0x12, 0x02, 0x08, 16}
	if useJSON {
		streamRequest, _ = json.Marshal(jsonStreamingRequest{ResponseParameters: []jsonResponseParameters{{Size: 16}}})
	}
	sendErr := make(chan error, 1)
	go func() {
		for i := 0; i < messages; i++ {
			if err := stream.SendMsg(&streamRequest); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- stream.CloseSend()
	}()
	received, bad := 0, 0
	for {
		var response []byte
		if err := stream.RecvMsg(&response); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("stream: %v after %d messages", err, received)
		}
		if sizeOf(response) != 16 {
			bad++
		}
		received++
	}
	if err := <-sendErr; err != nil {
		return err
	}
	fmt.Printf("stream: %d messages, %d received, %d bad, %.0f msg/s\n", messages, received, bad,
		float64(received)/time.Since(start).Seconds())
	if failures > 0 || bad > 0 || received != messages {
		return errors.New("errors in the soak")
	}
	fmt.Println("0 errors")
	return nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: grpcgo-peer server|client [flags]")
		os.Exit(2)
	}
	flags := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	port := flags.Int("port", 0, "port")
	unary := flags.Int("unary", 100000, "unary calls")
	messages := flags.Int("stream", 1000000, "streamed messages")
	concurrency := flags.Int("concurrency", 16, "concurrent unary calls")
	useJSON := flags.Bool("json", false, "call with the content subtype json (application/grpc+json)")
	flags.Parse(os.Args[2:])
	var err error
	if os.Args[1] == "server" {
		err = serve(*port)
	} else {
		err = runClient(*port, *unary, *messages, *concurrency, *useJSON)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
