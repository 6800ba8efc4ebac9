package assemble

import (
	"errors"
	"fmt"
	"os"
)

// DefaultMemoryBudget is the memory budget when Config.MemoryBudget is 0.
const DefaultMemoryBudget = 64 << 20

// Config configures an Assembler.
type Config struct {
	// MemoryBudget is the most bytes of buffered messages the open
	// transactions may hold in memory together; past it, the largest open
	// transaction spills to disk. Released transactions do not count: the
	// caller bounds how many it holds (one at a time keeps total memory at
	// about twice the budget). 0 means DefaultMemoryBudget (64 MiB).
	MemoryBudget int64 `yaml:"memory_budget"`
	// SpillDir is the directory for spill files. Empty means os.TempDir().
	// It needs free space for the largest transactions that are open at
	// the same time.
	SpillDir string `yaml:"spill_dir"`
}

// Validate reports values that can never work.
func (c Config) Validate() error {
	var errs []error
	if c.MemoryBudget < 0 {
		errs = append(errs, fmt.Errorf("memory_budget: %d is negative; use 0 for the default of %d bytes", c.MemoryBudget, DefaultMemoryBudget))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.MemoryBudget == 0 {
		c.MemoryBudget = DefaultMemoryBudget
	}
	if c.SpillDir == "" {
		c.SpillDir = os.TempDir()
	}
	return c
}
