package metrics

import (
	"errors"
	"testing"

	"github.com/covetgo/covet/testenv"
	"github.com/prometheus/client_golang/prometheus"
)

func TestRegisterDB(t *testing.T) {
	pg := testenv.NewPostgres(t)
	if err := pg.DB.Ping(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if err := RegisterDB(reg, pg.DB.DB, "main"); err != nil {
		t.Fatalf("RegisterDB: %v", err)
	}
	conn, err := pg.DB.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	m := metric(t, reg, "go_sql_in_use_connections", "db_name=main")
	if m == nil || m.GetGauge().GetValue() < 1 {
		t.Fatalf("go_sql_in_use_connections{db_name=main} = %v; want at least 1", m)
	}
	if m := metric(t, reg, "go_sql_max_open_connections", "db_name=main"); m == nil {
		t.Errorf("no go_sql_max_open_connections")
	}
	if err := RegisterDB(reg, pg.DB.DB, "main"); !errors.Is(err, ErrRegister) {
		t.Errorf("RegisterDB twice: error = %v; want ErrRegister", err)
	}
}

func TestRegisterDBInvalid(t *testing.T) {
	pg := testenv.NewPostgres(t)
	reg := prometheus.NewRegistry()
	tests := []struct {
		name string
		err  error
	}{
		{"nil registerer", RegisterDB(nil, pg.DB.DB, "x")},
		{"nil db", RegisterDB(reg, nil, "x")},
		{"empty name", RegisterDB(reg, pg.DB.DB, "")},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, ErrInvalidConfig) {
			t.Errorf("%s: error = %v; want ErrInvalidConfig", tt.name, tt.err)
		}
	}
}
