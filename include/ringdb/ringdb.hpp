#pragma once
// ringdb: everything but the Asio adapter (ringdb/asio.hpp).

#include <ringdb/codec.hpp>
#include <ringdb/database.hpp>
#include <ringdb/error.hpp>
#include <ringdb/hlc.hpp>
#include <ringdb/merge.hpp>
#include <ringdb/multimap_table.hpp>
#include <ringdb/nearest.hpp>
#include <ringdb/options.hpp>
#include <ringdb/result.hpp>
#include <ringdb/runtime.hpp>
#include <ringdb/stats.hpp>
#include <ringdb/sync_wait.hpp>
#include <ringdb/table.hpp>
#include <ringdb/table_definition.hpp>
#include <ringdb/task.hpp>
#include <ringdb/task_scope.hpp>
#include <ringdb/transaction.hpp>
#include <ringdb/ttl_purge.hpp>
#include <ringdb/ttl_table.hpp>
#include <ringdb/vector.hpp>
#include <ringdb/vector_types.hpp>
#include <ringdb/when_all.hpp>
