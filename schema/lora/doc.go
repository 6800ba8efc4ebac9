// Package lora describes the LoRa layout of the MO store once: the eight
// object classes, their tables and columns, their relation kinds, and the
// values of the composite columns (registrering, virkning).
//
// Everything that knows table names reads them from here: the DDL generator
// and writer in schema/store, the decoder and object builder in capture/.
package lora
