// grpc-go as a benchmark peer for rpc-benchmarks: the bench.Echo service and the same load
// shapes as the Swift and Python peers. Built offline from Debian's golang-google-grpc-dev:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o grpcgo-bench .
//	grpcgo-bench server --port P
//	grpcgo-bench client --port P --concurrency C --seconds S --kind unary|stream --messages N --request HEX
//
// Messages pass through as bytes (an echo needs no parsing). The client prints
// "rate p50_us p99_us", like rpc-benchmarks' own client.
package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
)

// bytesCodec hands messages over unparsed; it registers as "proto" so that the wire says
// application/grpc+proto like every other peer.
type bytesCodec struct{}

func (bytesCodec) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (bytesCodec) Unmarshal(data []byte, v interface{}) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (bytesCodec) Name() string { return "proto" }

func init() { encoding.RegisterCodec(bytesCodec{}) }

func unary(_ interface{}, _ context.Context, dec func(interface{}) error, _ grpc.UnaryServerInterceptor) (interface{}, error) {
	var request []byte
	if err := dec(&request); err != nil {
		return nil, err
	}
	return &request, nil
}

func stream(_ interface{}, s grpc.ServerStream) error {
	for {
		var request []byte
		if err := s.RecvMsg(&request); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if err := s.SendMsg(&request); err != nil {
			return err
		}
	}
}

var echoService = grpc.ServiceDesc{
	ServiceName: "bench.Echo",
	HandlerType: (*interface{})(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Unary", Handler: unary}},
	Streams:     []grpc.StreamDesc{{StreamName: "Stream", Handler: stream, ServerStreams: true, ClientStreams: true}},
}

func serve(port int) error {
	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err
	}
	server := grpc.NewServer()
	server.RegisterService(&echoService, struct{}{})
	fmt.Printf("listening on port %d\n", listener.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()
	return server.Serve(listener)
}

func load(port, concurrency int, seconds float64, kind string, messages int, request []byte) error {
	conn, err := grpc.Dial(fmt.Sprintf("127.0.0.1:%d", port), grpc.WithInsecure(), grpc.WithBlock(),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(bytesCodec{})))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx := context.Background()
	call := func() error {
		var response []byte
		return conn.Invoke(ctx, "/bench.Echo/Unary", &request, &response)
	}
	for i := 0; i < 200; i++ {
		if err := call(); err != nil {
			return err
		}
	}
	if kind == "stream" {
		best := 0.0
		desc := &grpc.StreamDesc{StreamName: "Stream", ServerStreams: true, ClientStreams: true}
		for round := 0; round < 3; round++ {
			start := time.Now()
			s, err := conn.NewStream(ctx, desc, "/bench.Echo/Stream")
			if err != nil {
				return err
			}
			sent := make(chan error, 1)
			go func() {
				for i := 0; i < messages; i++ {
					if err := s.SendMsg(&request); err != nil {
						sent <- err
						return
					}
				}
				sent <- s.CloseSend()
			}()
			received := 0
			for {
				var response []byte
				if err := s.RecvMsg(&response); err == io.EOF {
					break
				} else if err != nil {
					return err
				}
				received++
			}
			if err := <-sent; err != nil {
				return err
			}
			if received != messages {
				return fmt.Errorf("%d of %d echoes", received, messages)
			}
			if rate := float64(messages) / time.Since(start).Seconds(); rate > best {
				best = rate
			}
		}
		fmt.Printf("%.1f 0.0 0.0\n", best)
		return nil
	}
	end := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	var mu sync.Mutex
	var latencies []time.Duration
	var failure error
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(end) {
				begin := time.Now()
				if err := call(); err != nil {
					mu.Lock()
					failure = err
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(begin))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if failure != nil {
		return failure
	}
	elapsed := time.Since(start).Seconds()
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	micros := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
	fmt.Printf("%.1f %.1f %.1f\n", float64(len(latencies))/elapsed, micros(latencies[len(latencies)/2]),
		micros(latencies[len(latencies)*99/100]))
	return nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: grpcgo-bench server|client [flags]")
		os.Exit(2)
	}
	flags := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	port := flags.Int("port", 0, "port")
	concurrency := flags.Int("concurrency", 1, "calls in flight")
	seconds := flags.Float64("seconds", 5, "seconds of unary load")
	kind := flags.String("kind", "unary", "unary or stream")
	messages := flags.Int("messages", 20000, "messages per stream")
	requestHex := flags.String("request", "", "the serialized request, in hex")
	flags.Parse(os.Args[2:])
	var err error
	if os.Args[1] == "server" {
		err = serve(*port)
	} else {
		var request []byte
		if request, err = hex.DecodeString(*requestHex); err == nil {
			err = load(*port, *concurrency, *seconds, *kind, *messages, request)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
